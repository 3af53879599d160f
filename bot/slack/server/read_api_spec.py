"""The read API's OpenAPI 3.1 document, served at /v1/openapi.json. tests/unit/test_read_api_spec.py validates it
against the OpenAPI 3.1 schema and checks its paths against the routes bot.slack.server.read_api serves."""

from __future__ import annotations

from bot import __version__


def _error(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _ok(description: str, schema: str, headers: dict | None = None) -> dict:
    answer: dict = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }
    if headers:
        answer["headers"] = headers
    return answer


REFUSALS = {
    "401": _error("missing, unknown, expired or revoked token"),
    "403": _error(
        "a credential outside the token's scope (the same answer whether or not it exists), or a client "
        "address outside the token's list"
    ),
}
ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
ETAG = {"ETag": {"description": "the credential's id and key version", "schema": {"type": "string"}}}
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}

OPENAPI: dict = {
    "openapi": "3.1.0",
    "info": {
        "title": "Credbot read API",
        "version": __version__,
        "description": "Integrations read the Integration Credentials an access token names. Every secret read is "
        "audited before the key is sent.",
    },
    "security": [{"bearer": []}],
    "paths": {
        "/v1/credentials": {
            "get": {
                "operationId": "listCredentials",
                "summary": "The credentials this token may read (no keys)",
                "responses": {"200": _ok("the token's credentials", "CredentialList"), **REFUSALS},
            }
        },
        "/v1/credentials/{id}": {
            "get": {
                "operationId": "getCredential",
                "summary": "One credential's metadata (no key)",
                "parameters": [ID],
                "responses": {
                    "200": _ok("the credential", "Credential"),
                    **REFUSALS,
                    "404": _error("a credential of the token's scope that has been deleted"),
                },
            }
        },
        "/v1/credentials/{id}/secret": {
            "get": {
                "operationId": "getCredentialSecret",
                "summary": "The credential's API key (audited)",
                "parameters": [
                    ID,
                    {"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": _ok("the key; Cache-Control: no-store", "Secret", ETAG),
                    "304": {"description": "the key has not changed since that ETag (no body)", "headers": ETAG},
                    **REFUSALS,
                    "404": _error("a credential of the token's scope that has been deleted"),
                    "429": _error("too many reads with this token: wait Retry-After seconds"),
                    "503": _error("the read could not be audited, so no key was sent"),
                },
            }
        },
        "/v1/openapi.json": {
            "get": {
                "operationId": "getOpenAPI",
                "summary": "This document",
                "security": [],
                "responses": {"200": {"description": "the OpenAPI document", "content": {"application/json": {}}}},
            }
        },
    },
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "an access token, cbt_…"}},
        "schemas": {
            "Credential": {
                "type": "object",
                "required": ["id", "name", "entity_type", "destination", "environment", "version"],
                "properties": {
                    "id": {"type": "string", "format": "uuid"},
                    "name": {"type": "string"},
                    "entity_type": {"type": "string"},
                    "destination": {"type": "string"},
                    "environment": {"enum": ["live", "sandbox"]},
                    "key_expires_at": NULLABLE_TIME,
                    "paddle_status": {"type": ["string", "null"]},
                    "version": {"type": "integer", "description": "changes whenever the stored key does"},
                },
            },
            "CredentialList": {
                "type": "object",
                "required": ["credentials"],
                "properties": {"credentials": {"type": "array", "items": {"$ref": "#/components/schemas/Credential"}}},
            },
            "Secret": {
                "type": "object",
                "required": ["id", "api_key", "destination", "environment", "version"],
                "properties": {
                    "id": {"type": "string", "format": "uuid"},
                    "api_key": {"type": "string"},
                    "destination": {"type": "string"},
                    "environment": {"enum": ["live", "sandbox"]},
                    "version": {"type": "integer"},
                    "key_expires_at": NULLABLE_TIME,
                },
            },
            "Error": {
                "type": "object",
                "required": ["error"],
                "properties": {
                    "error": {
                        "type": "object",
                        "required": ["code", "message"],
                        "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                    }
                },
            },
        },
    },
}
