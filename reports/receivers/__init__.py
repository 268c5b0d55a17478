"""The ways a TLSRPT report arrives: HTTPS POST, the SMTP receiver, an IMAP mailbox."""
