package conference

import (
	"bytes"
	"context"
	"encoding/xml"
	"time"

	"github.com/jingled/jingled/jingle"
)

// announce tells every joined participant text in a chat message from the
// room. Every client shows a chat message from a contact, so this is how
// participants see who is in the call without any group-call support of
// their own.
func (r *Room) announce(text string) {
	if !r.cfg.Announce || r.cfg.Messages == nil {
		return
	}
	r.mu.Lock()
	var to []string
	for _, p := range r.parts {
		if !p.joined.IsZero() {
			to = append(to, p.peer)
		}
	}
	r.mu.Unlock()
	body := chatBody(text)
	for _, peer := range to {
		ctx, cancel := context.WithTimeout(r.ctx, 5*time.Second)
		err := r.cfg.Messages.SendMessage(ctx, &jingle.Message{To: peer, Type: "chat", Payload: body})
		cancel()
		if err != nil {
			r.log.Debug("notice not sent", "peer", peer, "err", err)
		}
	}
}

// chatBody is <body>text</body>, escaped, with a no-store hint
// (XEP-0334): the notices describe a live call and need no archive.
func chatBody(text string) []byte {
	var b bytes.Buffer
	b.WriteString("<body>")
	_ = xml.EscapeText(&b, []byte(text))
	b.WriteString("</body><no-store xmlns='urn:xmpp:hints'/>")
	return b.Bytes()
}
