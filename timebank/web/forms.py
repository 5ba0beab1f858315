"""The web front's forms. They check shape only (required, lengths); the use cases apply the rules."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import InputRequired, Length

from timebank import passwords

EMAIL_MAX_LENGTH = 254


class LoginForm(FlaskForm):
    email = EmailField(
        _l("Email address"),
        validators=[
            InputRequired(message=_l("Fill in your email address.")),
            Length(max=EMAIL_MAX_LENGTH, message=_l("An email address is at most 254 characters.")),
        ],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[
            InputRequired(message=_l("Fill in your password.")),
            Length(max=passwords.MAX_LENGTH, message=_l("A password is at most 1024 characters.")),
        ],
        render_kw={"autocomplete": "current-password"},
    )


class LogoutForm(FlaskForm):
    """Only the CSRF token: logging out changes state, so it is a POST with a token."""


class LanguageForm(FlaskForm):
    """The language switch: its CSRF token (the language itself is the button pressed)."""
