"""Strict local stand-in for Keap's REST v2 orders API, v1 REST hooks and OAuth2."""
