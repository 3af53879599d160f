"""Domain errors: each carries a message written for the person who acted."""

from __future__ import annotations


class CredentialError(Exception):
    """An error the user can act on. ``message`` is shown to them as is; ``reason`` is a short machine-readable
    cause for metrics and the audit trail, where there is one."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.message, self.reason = message, reason


class InvalidInput(CredentialError):
    """One field of the wizard is wrong; ``field`` names which."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, "invalid_" + field)
        self.field = field


class NameTaken(InvalidInput):
    """The name, or one that looks the same (``holder``, when it is spelled differently), exists already."""

    def __init__(self, name: str, holder: str | None = None) -> None:
        if holder and holder != name:
            message = (
                f"This name looks the same as “{holder}”, which already exists in this workspace (lookalike "
                "letters, digits or case). Choose a name that reads differently."
            )
        else:
            message = "A credential with this name already exists in this workspace. Choose another name."
        super().__init__("name", message)
        self.name, self.holder = name, holder


class ProviderRefusal(CredentialError):
    """The provider's check did not accept the key; ``reason`` is its short machine-readable cause."""


class KeyRejected(ProviderRefusal):
    """Paddle says the key does not work (wrong, revoked, other environment)."""


class ProviderUnavailable(ProviderRefusal):
    """The provider could not be reached or failed; nothing was saved."""


class RotationUnderWay(CredentialError):
    """A rotation of this credential's key is under way already (another click, another instance, the CLI)."""

    def __init__(self) -> None:
        super().__init__(
            "A rotation of this key is already under way. Nothing more was started; its outcome will show here and "
            "in the notification channels.",
            "rotation_under_way",
        )


class CredentialGone(CredentialError):
    """The credential does not exist (any more) in this workspace: deleted, or an id from elsewhere."""

    def __init__(
        self, message: str = "That credential no longer exists: it may have been deleted. The list has been refreshed."
    ) -> None:
        super().__init__(message)


class StorageFailed(CredentialError):
    """The database refused or failed the write; nothing was saved."""


class WizardStateInvalid(CredentialError):
    """The wizard's carried state (private_metadata) is missing or was tampered with."""


class KeyUnreadable(CredentialError):
    """A stored ciphertext did not decrypt (damaged, or under a key that is wrong); logged under ``reference``."""

    def __init__(self, reference: str) -> None:
        super().__init__(
            f"The stored key could not be decrypted (reference {reference}); replace it with "
            "Replace API key, and give the bot's operators the reference."
        )
        self.reference = reference
