"""A real SMTP server for iamwatch's tests (aiosmtpd, `pip install aiosmtpd`).

Usage: smtp_server.py PORT DIR USER PASSWORD

Listens on 127.0.0.1:PORT, requires AUTH (PLAIN or LOGIN) as USER/PASSWORD, over plain SMTP
since it is loopback only, and keeps each message it accepts as DIR/NNNN.json: the envelope,
the login used, and the message as Python's own mail parser reads it (headers decoded, body
decoded from its transfer encoding), so a test checks what a mail client would show. Prints
"ready" once listening.
"""
import email
import email.policy
import itertools
import json
import os
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

port, directory, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
numbers = itertools.count(1)


class Keep:
    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        kept = {
            "login": session.auth_data.login.decode() if session.auth_data else None,
            "mail_from": envelope.mail_from,
            "rcpt_to": envelope.rcpt_tos,
            "from": str(message["from"]),
            "to": str(message["to"]),
            "subject": str(message["subject"]),
            "content_type": body.get_content_type() if body else None,
            "charset": body.get_content_charset() if body else None,
            "body": body.get_content() if body else None,
        }
        path = os.path.join(directory, "%04d.json" % next(numbers))
        with open(path + ".part", "w") as file:
            json.dump(kept, file)
        os.rename(path + ".part", path)
        return "250 OK"


def authenticate(server, session, envelope, mechanism, data):
    accepted = (
        isinstance(data, LoginPassword)
        and data.login == user.encode()
        and data.password == password.encode()
    )
    return AuthResult(success=accepted, auth_data=data if accepted else None)


controller = Controller(
    Keep(),
    hostname="127.0.0.1",
    port=port,
    authenticator=authenticate,
    auth_required=True,
    auth_require_tls=False,
)
controller.start()
print("ready", flush=True)
threading.Event().wait()
