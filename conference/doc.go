// Package conference is a focus for group calls that any 1:1 Jingle client
// can join: Conversations, Dino, Monal, Movim, StanzaJS and our own CLI call
// the room like a contact, with an ordinary XEP-0167 session, and hear the
// mix of everybody else.
//
// Why a focus and not a mesh: Muji (XEP-0272), the one standard group-call
// protocol, is spoken by Dino alone, and a mesh costs each participant one
// upload per peer. A focus needs nothing from the clients: each participant
// has one session with the room, sends its audio once and receives one
// mixed stream (see ../shared/INTEROP.md "Group calls today").
//
// The pieces, one file each:
//
//   - room.go: a Room is one conference. It plugs into a jingle.Manager as
//     the RTP application (Options), admits or refuses callers (policy,
//     limits, JMI proposals), and owns the audio mixer of package
//     conference/mixer.
//   - participant.go: one caller in a room: the mixer input its audio feeds
//     (a Sink of the call) and the mixer output it hears (a Source).
//   - announce.go: the chat messages that tell participants who joined and
//     left, which every client shows.
//   - host.go: component mode (XEP-0114): every NAME@call.example.org is a
//     room, created by its first caller and reclaimed when empty; the host
//     routes stanzas by room, answers disco#info and presence for rooms.
//   - disco.go: what a room advertises (XEP-0030, XEP-0115) so that
//     clients show a call button.
//
// Account mode (one XMPP account is one room) uses Room alone: the daemon
// builds the account's manager with Room.Options.
package conference
