#!/usr/bin/python3
"""Embedding lvc in a GStreamer application (Python, GObject introspection).

The same as examples/embed.c: builds
    videotestsrc (live) ! lvcenc ! lvcdec ! fakesink
and while it plays reads lvcenc's `stats`, sets a target `bitrate` 40 % below the constant-qp
start after a third of the frames and checks that the measured bitrate goes down, asks for a key frame from the sink side
(an upstream force-key-unit event) and sees it on lvcenc's output, and at the end checks the
frame counts.  Exits 0 when every check holds, 1 otherwise, 77 (skip) when PyGObject or the
GStreamer typelibs are missing (python3-gi, python3-gst-1.0, gir1.2-gstreamer-1.0).

Usage: /usr/bin/python3 examples/embed.py [MODEL.lvcm]
  Uninstalled: GST_PLUGIN_PATH=build/gst /usr/bin/python3 examples/embed.py
SPDX-License-Identifier: LGPL-2.1-or-later
"""
import sys
import threading

try:
    import gi
    gi.require_version("Gst", "1.0")
    gi.require_version("GstVideo", "1.0")
    from gi.repository import GLib, Gst, GstVideo
except (ImportError, ValueError) as e:
    print(f"SKIP: GStreamer through GObject introspection is not available ({e}); "
          "install python3-gi python3-gst-1.0 gir1.2-gstreamer-1.0")
    sys.exit(77)

WIDTH, HEIGHT, FPS, FRAMES = 160, 96, 30, 90
CHANGE_AT = FRAMES // 3      # frame after which the bitrate is changed
KEY_AT = 2 * FRAMES // 3     # frame after which a key frame is requested


def read_stats(enc):
    """lvcenc's `stats`: a GstStructure (frames, key-frames, mean-qp, bitrate, ...)."""
    s = enc.get_property("stats")
    return {
        "frames": s.get_uint64("frames")[1],
        "key-frames": s.get_uint64("key-frames")[1],
        "kbps": s.get_double("bitrate")[1],     # mean since the start
        "mean-qp": s.get_double("mean-qp")[1],
    }


def interval_kbps(a, b):
    """kbit/s over the frames between two snapshots."""
    if b["frames"] <= a["frames"]:
        return 0.0
    bits = b["kbps"] * b["frames"] / FPS - a["kbps"] * a["frames"] / FPS
    return bits / ((b["frames"] - a["frames"]) / FPS)


class App:
    def __init__(self, model):
        self.failures = []
        self.lock = threading.Lock()
        self.encoded = 0
        self.decoded = 0
        self.key_frames = []
        self.key_requested_after = 0
        self.target_kbps = 0
        self.at_change = None
        self.at_key = None
        # key-int-max=0: key frames only at the start and on request; qp 20 for the start
        self.pipeline = Gst.parse_launch(
            f"videotestsrc is-live=true num-buffers={FRAMES} pattern=ball ! "
            f"video/x-raw,width={WIDTH},height={HEIGHT},framerate={FPS}/1 ! "
            "lvcenc name=enc qp=20 key-int-max=0 ! lvcdec ! "
            "fakesink name=sink sync=false signal-handoffs=true")
        self.enc = self.pipeline.get_by_name("enc")
        self.sink = self.pipeline.get_by_name("sink")
        if model:
            self.enc.set_property("model", model)
        self.enc.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, self.on_packet)
        self.sink.connect("handoff", self.on_picture)
        self.loop = GLib.MainLoop()
        bus = self.pipeline.get_bus()
        bus.add_signal_watch()
        bus.connect("message", self.on_message)

    def expect(self, cond, what):
        if not cond:
            print(f"FAIL: {what}", file=sys.stderr)
            self.failures.append(what)

    # streaming thread: count packets, note key frames, tell the main loop when a step is due
    def on_packet(self, pad, info):
        buf = info.get_buffer()
        with self.lock:
            n = self.encoded
            self.encoded += 1
            if not buf.has_flags(Gst.BufferFlags.DELTA_UNIT):
                self.key_frames.append(n)
        if n + 1 in (CHANGE_AT, KEY_AT):
            s = Gst.Structure.new_empty("embed-step")
            s.set_value("frame", n + 1)
            self.enc.post_message(Gst.Message.new_application(self.enc, s))
        return Gst.PadProbeReturn.OK

    def on_picture(self, sink, buf, pad):
        with self.lock:
            self.decoded += 1

    def change_bitrate(self):
        self.at_change = read_stats(self.enc)
        # 60 % of what the constant-qp start produced; applied at the next frame
        self.target_kbps = max(1, int(self.at_change["kbps"] * 0.6))
        print(f"after {self.at_change['frames']} frames: {self.at_change['kbps']:.0f} kbit/s "
              f"at qp {self.at_change['mean-qp']:.1f}; bitrate -> {self.target_kbps} kbit/s")
        self.enc.set_property("bitrate", self.target_kbps)

    def request_key_frame(self):
        self.at_key = at_key = read_stats(self.enc)
        kbps = interval_kbps(self.at_change, at_key)
        print(f"frames {self.at_change['frames']}-{at_key['frames']}: {kbps:.0f} kbit/s, "
              f"mean qp {at_key['mean-qp']:.1f} since the start")
        self.expect(kbps < 0.97 * self.at_change["kbps"],
                    f"the bitrate did not go down: {self.at_change['kbps']:.0f} -> "
                    f"{kbps:.0f} kbit/s")
        self.expect(at_key["mean-qp"] > self.at_change["mean-qp"], "the qp did not go up")
        with self.lock:
            self.key_requested_after = self.encoded
        print(f"requesting a key frame after {self.key_requested_after} frames")
        # from the sink, as a receiver would; lvcdec passes it upstream to lvcenc
        self.sink.send_event(GstVideo.video_event_new_upstream_force_key_unit(
            Gst.CLOCK_TIME_NONE, True, 1))

    def on_message(self, bus, msg):
        t = msg.type
        if t == Gst.MessageType.APPLICATION:
            s = msg.get_structure()
            if s.get_name() == "embed-step":
                frame = s.get_value("frame")
                if frame == CHANGE_AT:
                    self.change_bitrate()
                elif frame == KEY_AT:
                    self.request_key_frame()
        elif t == Gst.MessageType.ERROR:
            err, dbg = msg.parse_error()
            self.expect(False, f"error from {msg.src.get_name()}: {err.message} {dbg or ''}")
            self.loop.quit()
        elif t == Gst.MessageType.WARNING:
            err, _ = msg.parse_warning()
            print(f"warning from {msg.src.get_name()}: {err.message}")
        elif t == Gst.MessageType.EOS:
            self.loop.quit()

    def run(self):
        if self.pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            self.expect(False, "the pipeline does not start")
        else:
            self.loop.run()
        end = read_stats(self.enc)
        self.pipeline.set_state(Gst.State.NULL)
        print(f"encoded {end['frames']} frames ({end['key-frames']} key frames, "
              f"{end['kbps']:.0f} kbit/s mean, qp {end['mean-qp']:.1f}), "
              f"decoded {self.decoded}")
        print("key frames at:", " ".join(str(k) for k in self.key_frames))
        self.expect(end["frames"] == FRAMES, f"lvcenc coded {end['frames']} frames, not {FRAMES}")
        self.expect(self.encoded == FRAMES, f"{self.encoded} packets, not {FRAMES}")
        self.expect(self.decoded == FRAMES, f"{self.decoded} pictures decoded, not {FRAMES}")
        self.expect(self.key_frames[:1] == [0], "the stream does not start with a key frame")
        self.expect(self.target_kbps > 0, "the bitrate was never changed")
        # the requested key frame: within a few frames of the request (the source runs on)
        self.expect(self.key_requested_after > 0, "the key frame was never requested")
        r = self.key_requested_after
        if r > 0 and sum(1 for k in self.key_frames if k < r) == r:
            # an intra-only model (such as the current default) codes every frame as a key frame
            print("every frame is a key frame (intra-only model): the requested one is not "
                  "told apart")
        else:
            self.expect(any(r <= k <= r + 10 for k in self.key_frames),
                        f"no key frame followed the request after frame {r}")
            self.expect(end["key-frames"] > self.at_key["key-frames"],
                        "the key-frame count did not grow after the request")
        self.expect(end["key-frames"] == len(self.key_frames),
                    f"stats count {end['key-frames']} key frames, the output has "
                    f"{len(self.key_frames)}")
        return not self.failures


def main():
    Gst.init(None)
    for name in ("lvcenc", "lvcdec", "videotestsrc", "fakesink"):
        if Gst.ElementFactory.find(name) is None:
            print(f"FAIL: element {name} not found (is the lvc plugin on GST_PLUGIN_PATH?)",
                  file=sys.stderr)
            return 1
    app = App(sys.argv[1] if len(sys.argv) > 1 else None)
    ok = app.run()
    print("embed.py: all checks passed" if ok else "embed.py: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
