#!/usr/bin/env python3
"""PJSIP (pjsua2) answering peer for sipsimple-rs's call-load benchmark.

  load_peer.py --port P [--max-calls N]

Answers every INVITE at once with 200 and audio (null sound device, no
tone), keeps the call until the caller hangs up, and forgets it then.
pjsua2 runs without threads of its own and is polled from here, as in
peer.py. Prints "ready" once listening; runs until killed.
"""
import argparse
import sys

import pjsua2 as pj

endpoint = None


class Call(pj.Call):
    def __init__(self, account, call_id):
        super().__init__(account, call_id)
        self.account = account

    def onCallState(self, prm):
        if self.getInfo().state == pj.PJSIP_INV_STATE_DISCONNECTED:
            self.account.gone.append(self)


class Account(pj.Account):
    def __init__(self):
        super().__init__()
        self.calls = set()
        self.gone = []

    def onIncomingCall(self, prm):
        call = Call(self, prm.callId)
        self.calls.add(call)
        op = pj.CallOpParam()
        op.statusCode = 200
        call.answer(op)


def main():
    global endpoint
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--max-calls", type=int, default=32)
    args = ap.parse_args()

    endpoint = pj.Endpoint()
    endpoint.libCreate()
    config = pj.EpConfig()
    config.uaConfig.threadCnt = 0
    config.uaConfig.mainThreadOnly = True
    config.uaConfig.maxCalls = args.max_calls
    config.uaConfig.userAgent = "pjsua2 load peer"
    config.logConfig.level = 0
    config.logConfig.consoleLevel = 0
    config.medConfig.noVad = True
    config.medConfig.clockRate = 8000
    config.medConfig.maxMediaPorts = args.max_calls * 2 + 8
    endpoint.libInit(config)
    transport = pj.TransportConfig()
    transport.port = args.port
    transport.boundAddress = "127.0.0.1"
    endpoint.transportCreate(pj.PJSIP_TRANSPORT_UDP, transport)
    endpoint.libStart()
    endpoint.audDevManager().setNullDev()

    account_config = pj.AccountConfig()
    account_config.idUri = f"sip:uas@127.0.0.1:{args.port}"
    account_config.mediaConfig.transportConfig.boundAddress = "127.0.0.1"
    account_config.natConfig.iceEnabled = False
    account_config.natConfig.contactRewriteUse = 0
    account_config.natConfig.viaRewriteUse = 0
    account_config.natConfig.sdpNatRewriteUse = 0
    account = Account()
    account.create(account_config)
    print("ready", flush=True)
    while True:
        endpoint.libHandleEvents(5)
        while account.gone:
            account.calls.discard(account.gone.pop())


if __name__ == "__main__":
    main()
