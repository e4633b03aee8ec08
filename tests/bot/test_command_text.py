"""The /video command's text: an idea plus inline flags, every mistake explained."""

import pytest

from bot.command_text import CommandError, parse_video_command


def test_plain_text_is_the_idea():
    command = parse_video_command("a corgi surfing at sunset")
    assert command.action == "video"
    assert command.idea == "a corgi surfing at sunset"


def test_empty_text_and_help_show_help():
    assert parse_video_command("").action == "help"
    assert parse_video_command("  help ").action == "help"


def test_flags_set_the_options_and_stay_out_of_the_idea():
    command = parse_video_command("a corgi --model 5b --seconds 4 --seed 7 --steps 30 --guidance 7.5 --draft")
    assert command.idea == "a corgi"
    options = command.options
    assert (options.model, options.seconds, options.seed) == ("cogvideox-5b", 4.0, 7)
    assert (options.num_inference_steps, options.guidance_scale, options.speed) == (30, 7.5, "draft")


def test_negative_prompt_takes_quoted_text_including_slack_curly_quotes():
    assert parse_video_command('a fox --negative "blurry, dark"').options.negative_prompt == "blurry, dark"
    assert parse_video_command("a fox --negative “blurry, dark”").options.negative_prompt == "blurry, dark"


def test_apostrophes_are_part_of_the_idea():
    assert parse_video_command("a dog's day at the beach").idea == "a dog's day at the beach"


@pytest.mark.parametrize(
    ("text", "explanation"),
    [
        ("a fox --frames many", "`--frames` takes a whole number, not `many`."),
        ("a fox --seed", "`--seed` needs a value"),
        ("a fox --colour red", "I don't know the option `--colour`"),
        ("a fox --model 9z", "I don't know the model '9z'"),
        ("a fox --guidance 99", "`--guidance` must be between 0 and 20"),
        ("a fox --frames 49 --seconds 6", "Use `--frames` or `--seconds`, not both."),
        ("--seed 4", "Tell me what the video should show"),
        ('a fox --negative "unclosed', "A quote isn't closed"),
    ],
)
def test_mistakes_are_explained(text, explanation):
    with pytest.raises(CommandError, match=None) as raised:
        parse_video_command(text)
    assert explanation in str(raised.value)


def test_overlong_requests_are_refused():
    with pytest.raises(CommandError, match="please keep a request under"):
        parse_video_command("fox " * 2000)


@pytest.mark.parametrize(
    "text",
    ["a fox —model 5b", "a fox –model 5b", "a fox ‐‐model 5b", "a fox −−model=5b", "a fox --MODEL 5b"],
)
def test_smart_dashes_and_capitals_still_make_a_flag(text):
    command = parse_video_command(text)
    assert (command.idea, command.options.model) == ("a fox", "cogvideox-5b")


def test_a_word_led_by_a_dash_that_names_no_flag_stays_in_the_idea():
    assert parse_video_command("a fox —running through snow").idea == "a fox —running through snow"


@pytest.mark.parametrize("text", ["a fox --draft=false", "a fox --draft=", "a fox ‐‐draft true"])
def test_a_value_on_a_switch_is_refused(text):
    with pytest.raises(CommandError, match="`--draft` is a switch: leave out"):
        parse_video_command(text)


def test_single_quotes_group_a_value_but_apostrophes_stay_letters():
    command = parse_video_command("rock ’n’ roll at a dog’s party --negative ‘rain, fog’")
    assert command.idea == "rock ’n’ roll at a dog’s party"
    assert command.options.negative_prompt == "rain, fog"


def test_help_typed_with_a_smart_dash_shows_help():
    assert parse_video_command("—help").action == "help"
