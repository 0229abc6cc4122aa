"""Identities, certificates, roles and certificate login.

``models`` (tables), ``registry`` (identities, certificates, role grants), ``challenges`` (single-use
login nonces), ``tokens`` (short-lived login tokens), ``login`` (the login protocol), ``sessions``
(authenticating requests), ``service`` (use cases for the API and the CLI), ``checker`` (the
certificate checker built from settings), ``devpki`` (the development PKI on disk).
"""
