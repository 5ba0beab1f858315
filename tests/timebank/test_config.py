"""Configuration: defaults, overridden by TIMEBANK_ environment variables, checked before the app starts."""

from __future__ import annotations

import pytest

from timebank.config import DEVELOPMENT_SECRET_KEY, Config, ConfigError, check_config, defaults, load_config


def test_without_environment_variables_the_settings_are_the_defaults():
    config = load_config({})
    assert config == defaults()
    assert config["ENV"] == "production" and config["DATABASE_URL"] is None and config["CHECK_SCHEMA_ON_START"] is True


def test_each_setting_is_read_from_its_prefixed_variable_and_converted_to_the_defaults_type():
    config = load_config(
        {
            "TIMEBANK_ENV": "development",
            "TIMEBANK_DATABASE_URL": "postgresql://timebank@db.internal/timebank",
            "TIMEBANK_CHECK_SCHEMA_ON_START": "no",
            "TIMEBANK_DATABASE_CONNECT_TIMEOUT_SECONDS": " 3 ",
        }
    )
    assert config["ENV"] == "development"
    assert config["DATABASE_URL"] == "postgresql://timebank@db.internal/timebank"
    assert config["CHECK_SCHEMA_ON_START"] is False
    assert config["DATABASE_CONNECT_TIMEOUT_SECONDS"] == 3


@pytest.mark.parametrize("word", ["1", "true", "Yes", "ON"])
def test_true_can_be_written_in_the_usual_ways(word):
    assert load_config({"TIMEBANK_SESSION_COOKIE_HTTPONLY": word})["SESSION_COOKIE_HTTPONLY"] is True


def test_an_empty_variable_for_an_optional_setting_means_unset():
    assert load_config({"TIMEBANK_DATABASE_URL": ""})["DATABASE_URL"] is None


def test_variables_that_name_no_setting_are_ignored():
    assert load_config({"TIMEBANK_TEST_DATABASE_URL": "sqlite://", "TIMEBANK_NOTHING": "x"}) == defaults()


@pytest.mark.parametrize(
    ("variable", "value", "complaint"),
    [
        ("TIMEBANK_CHECK_SCHEMA_ON_START", "maybe", "must be one of"),
        ("TIMEBANK_MAX_CONTENT_LENGTH", "1MB", "must be a whole number"),
    ],
)
def test_a_malformed_value_is_refused_naming_the_variable(variable, value, complaint):
    with pytest.raises(ConfigError, match=f"{variable} {complaint}"):
        load_config({variable: value})


def test_the_default_secret_key_is_refused_outside_development_and_testing():
    with pytest.raises(ConfigError, match="TIMEBANK_SECRET_KEY is the development default"):
        check_config(defaults())
    check_config({**defaults(), "SECRET_KEY": "a-long-random-secret"})
    check_config({**defaults(), "ENV": "development"})


def test_an_unknown_environment_is_refused():
    with pytest.raises(ConfigError, match="TIMEBANK_ENV must be one of"):
        check_config({**defaults(), "ENV": "staging", "SECRET_KEY": "a-long-random-secret"})


def test_an_empty_secret_key_is_refused_even_in_development():
    with pytest.raises(ConfigError, match="must not be empty"):
        check_config({**defaults(), "ENV": "development", "SECRET_KEY": ""})


def test_the_defaults_bound_request_bodies():
    assert Config.MAX_CONTENT_LENGTH <= 10 * 1024 * 1024
    assert Config.SECRET_KEY == DEVELOPMENT_SECRET_KEY


def test_the_public_url_is_an_http_address_when_set():
    check_config({**defaults(), "ENV": "development", "PUBLIC_URL": "https://tijdbank.example.org"})
    with pytest.raises(ConfigError, match="TIMEBANK_PUBLIC_URL must start with https://"):
        check_config({**defaults(), "ENV": "development", "PUBLIC_URL": "tijdbank.example.org"})
