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

Options for either role:
  --codec PCMA        offer/accept only this codec (plus telephone-event).
  --answer 180,486    the responses to send to an incoming INVITE, in
                      order (default 180,200; "180" alone rings for ever).
  --dtmf 13           send these digits (RFC 4733) once the call is up.
  --hold              once the call is up, hold it (re-INVITE sendonly),
                      then resume it (re-INVITE sendrecv).
  --registrar H:P --user U --password P
                      register U@sipsimple.test there with digest and
                      send every request through it.

It prints one line per event ("ready", "registered", "confirmed",
"codec NAME", "media STATUS", "dtmf D", "held", "resumed",
"disconnected CODE") and exits 0 when the call was confirmed and ended,
1 otherwise.
pjsua2 runs without threads of its own and is polled from here.
"""
import argparse
import os
import sys
import time

import pjsua2 as pj

endpoint = None

MEDIA_STATUS = {
    pj.PJSUA_CALL_MEDIA_NONE: "none",
    pj.PJSUA_CALL_MEDIA_ACTIVE: "active",
    pj.PJSUA_CALL_MEDIA_LOCAL_HOLD: "local-hold",
    pj.PJSUA_CALL_MEDIA_REMOTE_HOLD: "remote-hold",
    pj.PJSUA_CALL_MEDIA_ERROR: "error",
}


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
        self.media = None

    def onCallState(self, prm):
        info = self.getInfo()
        self.state = info.state
        self.code = info.lastStatusCode
        if info.state == pj.PJSIP_INV_STATE_CONFIRMED:
            say("confirmed")
        elif info.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            say("disconnected", info.lastStatusCode)

    def onDtmfDigit(self, prm):
        say("dtmf", prm.digit)

    def onCallMediaState(self, prm):
        info = self.getInfo()
        for i, media in enumerate(info.media):
            if media.type != pj.PJMEDIA_TYPE_AUDIO:
                continue
            self.media = MEDIA_STATUS.get(media.status, str(media.status))
            say("media", self.media)
            if media.status != pj.PJSUA_CALL_MEDIA_ACTIVE:
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
        self.registered = None

    def onRegState(self, prm):
        self.registered = prm.code

    def onIncomingCall(self, prm):
        call = Call(self, prm.callId, self.args)
        self.calls.append(call)
        for code in self.args.answer:
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
    ap.add_argument("--codec")
    ap.add_argument("--answer", default="180,200",
                    type=lambda s: [int(c) for c in s.split(",")])
    ap.add_argument("--dtmf")
    ap.add_argument("--hold", action="store_true")
    ap.add_argument("--registrar")
    ap.add_argument("--user", default="pjsua")
    ap.add_argument("--password", default="secret")
    ap.add_argument("--srtp", choices=["optional", "mandatory"],
                    help="SDES-keyed SRTP (RFC 4568) on plain SIP")
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
    if args.codec:
        for codec in endpoint.codecEnum2():
            wanted = codec.codecId.startswith(args.codec + "/")
            endpoint.codecSetPriority(codec.codecId, 255 if wanted else 0)

    account_config = pj.AccountConfig()
    if args.registrar:
        account_config.idUri = f"sip:{args.user}@sipsimple.test"
        account_config.regConfig.registrarUri = f"sip:{args.registrar}"
        account_config.sipConfig.proxies.append(f"sip:{args.registrar};lr")
        account_config.sipConfig.authCreds.append(
            pj.AuthCredInfo("digest", "*", args.user, 0, args.password))
    else:
        account_config.idUri = f"sip:{args.user}@127.0.0.1:{args.port}"
    account_config.regConfig.registerOnAdd = bool(args.registrar)
    account_config.mediaConfig.transportConfig.boundAddress = "127.0.0.1"
    account_config.natConfig.iceEnabled = False
    account_config.natConfig.contactRewriteUse = 0
    account_config.natConfig.viaRewriteUse = 0
    account_config.natConfig.sdpNatRewriteUse = 0
    if args.srtp:
        account_config.mediaConfig.srtpUse = (
            pj.PJMEDIA_SRTP_MANDATORY if args.srtp == "mandatory" else pj.PJMEDIA_SRTP_OPTIONAL)
        # SDES keys over UDP signalling: allowed here, on loopback.
        account_config.mediaConfig.srtpSecureSignaling = 0
    account = Account(args)
    account.create(account_config)
    if args.registrar:
        if not poll(10, lambda: account.registered is not None) or account.registered != 200:
            say("registration failed", account.registered)
            os._exit(1)
        say("registered")
    say("ready")

    ok = False
    if args.role == "call":
        call = Call(account, args=args)
        account.calls.append(call)
        call.makeCall(args.uri, pj.CallOpParam(True))
    confirmed = lambda: any(c.state == pj.PJSIP_INV_STATE_CONFIRMED for c in account.calls)
    failed = lambda: any(c.state == pj.PJSIP_INV_STATE_DISCONNECTED for c in account.calls)
    if poll(15, lambda: confirmed() or failed()) and confirmed():
        call = next(c for c in account.calls if c.state == pj.PJSIP_INV_STATE_CONFIRMED)
        gone = lambda: call.state == pj.PJSIP_INV_STATE_DISCONNECTED
        poll(0.3, gone)
        say("codec", call.getStreamInfo(0).codecName)
        if args.dtmf:
            call.dialDtmf(args.dtmf)
        if args.hold and not poll(0.5, gone):
            call.setHold(pj.CallOpParam(True))
            if poll(5, lambda: gone() or call.media == "local-hold") and not gone():
                say("held")
            if not poll(0.5, gone):
                op = pj.CallOpParam(True)
                op.opt.flag = pj.PJSUA_CALL_UNHOLD
                call.reinvite(op)
                if poll(5, lambda: gone() or call.media == "active") and not gone():
                    say("resumed")
        if not poll(args.seconds, gone):
            call.hangup(pj.CallOpParam(True))
        ok = poll(5, gone)
    else:
        # Unanswered, rejected or cancelled: wait for it to end.
        poll(15, failed)
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
