/*
 * testdevices: a GStreamer device provider for running Dino without a sound
 * card or a camera. It lists three devices, which is what Dino's RTP plugin
 * needs before it offers calls (plugins/rtp/src/plugin.vala supports()):
 *
 *   "Test Camera"     Video/Source  videotestsrc (is-live), pattern
 *                     $JINGLED_TEST_VIDEO_PATTERN (default "smpte")
 *   "Test Microphone" Audio/Source  audiotestsrc (is-live), a sine of
 *                     $JINGLED_TEST_TONE Hz (default 440)
 *   "Test Speaker"    Audio/Sink    filesink appending raw S16LE 48 kHz mono
 *                     to $JINGLED_TEST_SPEAKER (default /dev/null)
 *
 * Dino sets do-timestamp on sources and sync/async on sinks, so the elements
 * are a BaseSrc and a BaseSink. Built by tests/dino at test time:
 *   gcc -shared -fPIC -o libgsttestdevices.so testdevices.c \
 *       $(pkg-config --cflags --libs gstreamer-1.0)
 * and found through GST_PLUGIN_PATH.
 */
#include <gst/gst.h>
#include <stdlib.h>

#define PACKAGE "jingled-testdevices"

/* The devices. */

typedef struct {
  GstDevice parent;
  gint kind; /* 0 camera, 1 microphone, 2 speaker */
} TestDevice;

typedef struct {
  GstDeviceClass parent_class;
} TestDeviceClass;

GType test_device_get_type (void);
G_DEFINE_TYPE (TestDevice, test_device, GST_TYPE_DEVICE)

static const gchar *
env_or (const gchar * name, const gchar * def)
{
  const gchar *v = g_getenv (name);
  return (v && *v) ? v : def;
}

static GstElement *
test_device_create_element (GstDevice * device, const gchar * name)
{
  TestDevice *self = (TestDevice *) device;
  GstElement *e = NULL;
  switch (self->kind) {
    case 0:
      e = gst_element_factory_make ("videotestsrc", name);
      if (e) {
        g_object_set (e, "is-live", TRUE, NULL);
        gst_util_set_object_arg (G_OBJECT (e), "pattern",
            env_or ("JINGLED_TEST_VIDEO_PATTERN", "smpte"));
      }
      break;
    case 1:
      e = gst_element_factory_make ("audiotestsrc", name);
      if (e) {
        g_object_set (e, "is-live", TRUE, "volume", 0.5,
            "freq", g_ascii_strtod (env_or ("JINGLED_TEST_TONE", "440"), NULL), NULL);
        gst_util_set_object_arg (G_OBJECT (e), "wave", "sine");
      }
      break;
    case 2:
      e = gst_element_factory_make ("filesink", name);
      if (e)
        g_object_set (e, "location", env_or ("JINGLED_TEST_SPEAKER", "/dev/null"),
            "append", TRUE, "buffer-mode", 2 /* unbuffered */, NULL);
      break;
  }
  return e;
}

static void
test_device_class_init (TestDeviceClass * klass)
{
  GST_DEVICE_CLASS (klass)->create_element = test_device_create_element;
}

static void
test_device_init (TestDevice * self)
{
}

static GstDevice *
test_device_new (gint kind)
{
  static const gchar *names[] = { "Test Camera", "Test Microphone", "Test Speaker" };
  static const gchar *classes[] = { "Video/Source", "Audio/Source", "Audio/Sink" };
  GstCaps *caps;
  GstStructure *props;
  TestDevice *d;

  if (kind == 0)
    caps = gst_caps_from_string ("video/x-raw,format=I420,width=640,height=480,framerate=30/1");
  else
    caps = gst_caps_from_string ("audio/x-raw,format=S16LE,layout=interleaved,rate=48000,channels=1");
  props = gst_structure_new ("testdevices-proplist", "is-default", G_TYPE_BOOLEAN, TRUE, NULL);
  d = g_object_new (test_device_get_type (), "display-name", names[kind],
      "device-class", classes[kind], "caps", caps, "properties", props, NULL);
  d->kind = kind;
  gst_caps_unref (caps);
  gst_structure_free (props);
  return GST_DEVICE (d);
}

/* The provider. */

typedef struct {
  GstDeviceProvider parent;
} TestProvider;

typedef struct {
  GstDeviceProviderClass parent_class;
} TestProviderClass;

GType test_provider_get_type (void);
G_DEFINE_TYPE (TestProvider, test_provider, GST_TYPE_DEVICE_PROVIDER)

static GList *
test_provider_probe (GstDeviceProvider * provider)
{
  GList *l = NULL;
  gint i;
  for (i = 0; i < 3; i++)
    l = g_list_append (l, gst_object_ref_sink (test_device_new (i)));
  return l;
}

static void
test_provider_class_init (TestProviderClass * klass)
{
  GstDeviceProviderClass *dp = GST_DEVICE_PROVIDER_CLASS (klass);
  dp->probe = test_provider_probe;
  gst_device_provider_class_set_static_metadata (dp, "Test devices",
      "Source/Sink/Audio/Video", "A camera, a microphone and a speaker for tests",
      "jingled");
}

static void
test_provider_init (TestProvider * self)
{
}

static gboolean
plugin_init (GstPlugin * plugin)
{
  return gst_device_provider_register (plugin, "testdevicesprovider",
      GST_RANK_PRIMARY, test_provider_get_type ());
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, testdevices,
    "Test devices for running Dino headless", plugin_init, "1.0", "unknown",
    PACKAGE, "https://github.com/jingled/jingled")
