#!/usr/bin/python3
"""A small org.freedesktop.Notifications server for tests, on the session bus
named by DBUS_SESSION_BUS_ADDRESS. Each Notify call is written to LOG as one
JSON line (app, icon, summary, body, actions, hints with urgency as a
number). With --invoke KEY it answers the first notification offering KEY
with ActionInvoked(id, KEY); otherwise a notification with actions is
dismissed (NotificationClosed, reason 2) at once. READY is created once the
name is owned."""
import json
import sys

from gi.repository import Gio, GLib

XML = """
<node><interface name="org.freedesktop.Notifications">
 <method name="GetCapabilities"><arg type="as" direction="out"/></method>
 <method name="Notify">
  <arg type="s" direction="in"/><arg type="u" direction="in"/>
  <arg type="s" direction="in"/><arg type="s" direction="in"/>
  <arg type="s" direction="in"/><arg type="as" direction="in"/>
  <arg type="a{sv}" direction="in"/><arg type="i" direction="in"/>
  <arg type="u" direction="out"/>
 </method>
 <method name="CloseNotification"><arg type="u" direction="in"/></method>
 <method name="GetServerInformation">
  <arg type="s" direction="out"/><arg type="s" direction="out"/>
  <arg type="s" direction="out"/><arg type="s" direction="out"/>
 </method>
 <signal name="NotificationClosed"><arg type="u"/><arg type="u"/></signal>
 <signal name="ActionInvoked"><arg type="u"/><arg type="s"/></signal>
</interface></node>
"""
PATH = "/org/freedesktop/Notifications"
IFACE = "org.freedesktop.Notifications"

log_path, ready_path = sys.argv[1], sys.argv[2]
invoke = sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == "--invoke" else None
state = {"next": 1, "invoked": False}


def emit(conn, name, args):
    conn.emit_signal(None, PATH, IFACE, name, args)


def on_call(conn, sender, path, iface, method, params, invocation):
    if method == "GetCapabilities":
        invocation.return_value(GLib.Variant("(as)", (["actions", "body"],)))
    elif method == "GetServerInformation":
        invocation.return_value(GLib.Variant("(ssss)", ("fake", "cardrenew-tests", "1", "1.2")))
    elif method == "CloseNotification":
        invocation.return_value(None)
    elif method == "Notify":
        app, _replaces, icon, summary, body, actions, hints, timeout = params.unpack()
        nid = state["next"]
        state["next"] += 1
        rec = {"id": nid, "app": app, "icon": icon, "summary": summary, "body": body,
               "actions": actions, "timeout": timeout,
               "hints": {k: (v if isinstance(v, (int, str)) else str(v))
                         for k, v in hints.items()}}
        with open(log_path, "a") as f:
            f.write(json.dumps(rec) + "\n")
        invocation.return_value(GLib.Variant("(u)", (nid,)))
        keys = actions[0::2]
        if invoke and invoke in keys and not state["invoked"]:
            state["invoked"] = True
            GLib.idle_add(lambda: (emit(conn, "ActionInvoked",
                                        GLib.Variant("(us)", (nid, invoke))), False)[1])
            GLib.idle_add(lambda: (emit(conn, "NotificationClosed",
                                        GLib.Variant("(uu)", (nid, 3))), False)[1])
        elif keys:
            GLib.idle_add(lambda: (emit(conn, "NotificationClosed",
                                        GLib.Variant("(uu)", (nid, 2))), False)[1])


def on_name(conn, name):
    open(ready_path, "w").close()


def on_bus(conn, name):
    node = Gio.DBusNodeInfo.new_for_xml(XML)
    conn.register_object(PATH, node.interfaces[0], on_call, None, None)


Gio.bus_own_name(Gio.BusType.SESSION, IFACE, Gio.BusNameOwnerFlags.NONE,
                 on_bus, on_name, lambda c, n: sys.exit(1))
GLib.MainLoop().run()
