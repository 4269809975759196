#!/usr/bin/env python3
"""PJSIP (pjsua2) peer for sipsimple-rs's interop tests.

One call with audio, headless: pjsua2's own tone generator plays FREQ Hz
into the call and its recorder writes what arrives to RECORD.wav, so the
test can check both directions by frequency.

  peer.py answer --port P --record F.wav [--tone 440] [--seconds 3]
      wait for one INVITE, answer it (180, 200), play and record, and
      hang up after SECONDS unless the caller hangs up first.
  peer.py call --port P --uri URI --record F.wav [--tone 440] [--seconds 3]
      call URI, play and record, hang up after SECONDS.

It prints one line per event ("ready", "confirmed", "disconnected CODE")
and exits 0 when the call was confirmed and ended, 1 otherwise.
pjsua2 runs without threads of its own and is polled from here.
"""
import argparse
import os
import sys
import time

import pjsua2 as pj

endpoint = None


def say(*words):
    print(*words, flush=True)


def poll(seconds, done=lambda: False):
    end = time.time() + seconds
    while time.time() < end and not done():
        endpoint.libHandleEvents(10)
    return done()


class Call(pj.Call):
    def __init__(self, account, call_id=pj.PJSUA_INVALID_ID, args=None):
        super().__init__(account, call_id)
        self.args = args
        self.state = None
        self.code = None
        self.tone = None
        self.recorder = None

    def onCallState(self, prm):
        info = self.getInfo()
        self.state = info.state
        self.code = info.lastStatusCode
        if info.state == pj.PJSIP_INV_STATE_CONFIRMED:
            say("confirmed")
        elif info.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            say("disconnected", info.lastStatusCode)

    def onCallMediaState(self, prm):
        info = self.getInfo()
        for i, media in enumerate(info.media):
            if media.type != pj.PJMEDIA_TYPE_AUDIO or media.status != pj.PJSUA_CALL_MEDIA_ACTIVE:
                continue
            audio = self.getAudioMedia(i)
            if self.tone is None:
                self.tone = pj.ToneGenerator()
                self.tone.createToneGenerator(8000, 1)
                tone = pj.ToneDesc()
                tone.freq1 = self.args.tone
                tone.freq2 = 0
                tone.on_msec = 30000
                tone.off_msec = 0
                tone.volume = 0
                tones = pj.ToneDescVector()
                tones.append(tone)
                self.tone.play(tones, True)
                self.recorder = pj.AudioMediaRecorder()
                self.recorder.createRecorder(self.args.record)
            self.tone.startTransmit(audio)
            audio.startTransmit(self.recorder)


class Account(pj.Account):
    def __init__(self, args):
        super().__init__()
        self.args = args
        self.calls = []

    def onIncomingCall(self, prm):
        call = Call(self, prm.callId, self.args)
        self.calls.append(call)
        for code in (180, 200):
            op = pj.CallOpParam()
            op.statusCode = code
            call.answer(op)


def main():
    global endpoint
    ap = argparse.ArgumentParser()
    ap.add_argument("role", choices=["answer", "call"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--uri")
    ap.add_argument("--record", required=True)
    ap.add_argument("--tone", type=int, default=440)
    ap.add_argument("--seconds", type=float, default=3)
    args = ap.parse_args()

    endpoint = pj.Endpoint()
    endpoint.libCreate()
    config = pj.EpConfig()
    config.uaConfig.threadCnt = 0
    config.uaConfig.mainThreadOnly = True
    config.uaConfig.userAgent = "pjsua2 interop peer"
    config.logConfig.level = 1
    config.logConfig.consoleLevel = 1
    config.medConfig.noVad = True
    config.medConfig.clockRate = 8000
    endpoint.libInit(config)
    transport = pj.TransportConfig()
    transport.port = args.port
    transport.boundAddress = "127.0.0.1"
    endpoint.transportCreate(pj.PJSIP_TRANSPORT_UDP, transport)
    endpoint.libStart()
    endpoint.audDevManager().setNullDev()

    account_config = pj.AccountConfig()
    account_config.idUri = f"sip:pjsua@127.0.0.1:{args.port}"
    account_config.mediaConfig.transportConfig.boundAddress = "127.0.0.1"
    account_config.natConfig.iceEnabled = False
    account_config.natConfig.contactRewriteUse = 0
    account_config.natConfig.viaRewriteUse = 0
    account_config.natConfig.sdpNatRewriteUse = 0
    account = Account(args)
    account.create(account_config)
    say("ready")

    ok = False
    if args.role == "call":
        call = Call(account, args=args)
        account.calls.append(call)
        call.makeCall(args.uri, pj.CallOpParam(True))
    if poll(15, lambda: any(c.state == pj.PJSIP_INV_STATE_CONFIRMED for c in account.calls)):
        call = next(c for c in account.calls if c.state == pj.PJSIP_INV_STATE_CONFIRMED)
        gone = lambda: call.state == pj.PJSIP_INV_STATE_DISCONNECTED
        if not poll(args.seconds, gone):
            call.hangup(pj.CallOpParam(True))
        ok = poll(5, gone)
    # Dropping the recorder closes its WAV (header written); the rest of
    # pjsua2 must not be destroyed from Python: leave without cleanup.
    for c in account.calls:
        c.recorder = None
        c.tone = None
    poll(0.2)
    sys.stdout.flush()
    os._exit(0 if ok else 1)


if __name__ == "__main__":
    main()
