#!/usr/bin/env python3
"""PJSIP (pjsua2) presence peer for sipsimple-rs's interop tests.

  presence_peer.py --port P [--proxy H:P --user U --password PW]

An account (U@sipsimple.test through the proxy H:P with digest, or
sip:U@127.0.0.1:P without one) that publishes its status (PUBLISH, when
there is a proxy) and serves SUBSCRIBEs for it, and watches buddies. It
reads commands on stdin, one a line:

  status open|closed ACTIVITY NOTE...
                               set its own status: basic, RPID activity
                               (unknown|away|busy) and note
  watch URI                    subscribe to URI's presence (a buddy)

and prints one line per event: "ready", then for every buddy change
"buddy URI STATE BASIC ACTIVITY NOTE" (STATE the subscription's state
name, BASIC online|offline|unknown, ACTIVITY the RPID activity as
above, NOTE pjsua's status text: the RPID or tuple note when there is
one). It exits when stdin closes.
pjsua2 runs without threads of its own and is polled from here.
"""
import argparse
import os
import select
import sys

import pjsua2 as pj

BASIC = {
    pj.PJSUA_BUDDY_STATUS_ONLINE: "online",
    pj.PJSUA_BUDDY_STATUS_OFFLINE: "offline",
    pj.PJSUA_BUDDY_STATUS_UNKNOWN: "unknown",
}

ACTIVITY = {
    pj.PJRPID_ACTIVITY_UNKNOWN: "unknown",
    pj.PJRPID_ACTIVITY_AWAY: "away",
    pj.PJRPID_ACTIVITY_BUSY: "busy",
}


def say(*words):
    print(*words, flush=True)


class Buddy(pj.Buddy):
    def onBuddyState(self):
        info = self.getInfo()
        status = info.presStatus
        say("buddy", info.uri, info.subStateName,
            BASIC.get(status.status, str(status.status)),
            ACTIVITY.get(status.activity, str(status.activity)),
            status.statusText)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--proxy")
    ap.add_argument("--user", default="pjsua")
    ap.add_argument("--password", default="secret")
    args = ap.parse_args()

    endpoint = pj.Endpoint()
    endpoint.libCreate()
    config = pj.EpConfig()
    config.uaConfig.threadCnt = 0
    config.uaConfig.mainThreadOnly = True
    config.uaConfig.userAgent = "pjsua2 interop presence peer"
    config.logConfig.level = 1
    config.logConfig.consoleLevel = 1
    endpoint.libInit(config)
    transport = pj.TransportConfig()
    transport.port = args.port
    transport.boundAddress = "127.0.0.1"
    endpoint.transportCreate(pj.PJSIP_TRANSPORT_UDP, transport)
    endpoint.libStart()
    endpoint.audDevManager().setNullDev()

    account_config = pj.AccountConfig()
    if args.proxy:
        account_config.idUri = f"sip:{args.user}@sipsimple.test"
        account_config.sipConfig.proxies.append(f"sip:{args.proxy};lr")
        account_config.sipConfig.authCreds.append(
            pj.AuthCredInfo("digest", "*", args.user, 0, args.password))
        # Without a registrar pjsua starts the publication when the
        # account is added, and republishes on every status change.
        account_config.presConfig.publishEnabled = True
    else:
        account_config.idUri = f"sip:{args.user}@127.0.0.1:{args.port}"
    account_config.regConfig.registerOnAdd = False
    account_config.natConfig.iceEnabled = False
    account_config.natConfig.contactRewriteUse = 0
    account_config.natConfig.viaRewriteUse = 0
    account_config.natConfig.sdpNatRewriteUse = 0
    account = pj.Account()
    account.create(account_config)
    buddies = []
    say("ready")

    pending = b""
    while True:
        endpoint.libHandleEvents(10)
        ready, _, _ = select.select([sys.stdin.buffer], [], [], 0.01)
        if not ready:
            continue
        data = os.read(sys.stdin.fileno(), 4096)
        if not data:
            break
        pending += data
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            words = line.decode().split(" ", 3)
            if words[0] == "status":
                status = pj.PresenceStatus()
                status.status = (pj.PJSUA_BUDDY_STATUS_ONLINE if words[1] == "open"
                                 else pj.PJSUA_BUDDY_STATUS_OFFLINE)
                status.activity = next(
                    k for k, v in ACTIVITY.items() if v == words[2])
                status.note = words[3] if len(words) > 3 else ""
                account.setOnlineStatus(status)
                say("status set")
            elif words[0] == "watch":
                buddy_config = pj.BuddyConfig()
                buddy_config.uri = words[1]
                buddy_config.subscribe = True
                buddy = Buddy()
                buddy.create(account, buddy_config)
                buddies.append(buddy)
                say("watching", words[1])
    # Destroying pjsua2 objects from Python after its library asserts:
    # leave without cleanup.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
