"""The offline refiner writes a dense CogVideoX prompt and treats replies as edits."""

import io

from bot.adapters.refiner.offline import PICTURE_OPENING, OfflineRefiner, describe_picture
from bot.conversation.ports import RefineRequest
from bot.conversation.sessions import Turn


def refine(*texts):
    turns = tuple(Turn("user", t) for t in texts)
    return OfflineRefiner().refine(RefineRequest(turns=turns))


def test_the_prompt_keeps_the_idea_and_adds_setting_light_camera_and_style():
    prompt = refine("a red fox running through snow").prompt
    assert prompt.startswith("A red fox running through snow")
    assert "snow blankets the ground" in prompt
    assert "camera" in prompt.lower()
    assert "Photorealistic" in prompt


def test_the_prompt_fits_the_models_reading_length():
    prompt = refine("a red fox running through snow " + "with many details " * 80).prompt
    assert len(prompt.split()) <= 170


def test_a_reply_naming_a_light_replaces_the_light():
    before = refine("a fox at sunset").prompt
    after = refine("a fox at sunset", "make it night").prompt
    assert "golden-hour" in before and "golden-hour" not in after
    assert "It is night" in after


def test_a_reply_with_new_content_is_kept_as_a_detail():
    prompt = refine("a red fox running through snow", "add a second fox chasing it").prompt
    assert "A second fox chasing it." in prompt


def test_the_note_says_what_changed():
    assert refine("a fox", "slower camera").note == "Changed: camera."


def test_the_same_thread_gives_the_same_prompt():
    assert refine("a corgi surfing at sunset").prompt == refine("a corgi surfing at sunset").prompt


def test_a_picture_gets_a_motion_prompt_that_keeps_the_picture():
    turns = (Turn("user", "Animate this picture.", "UALICE"),)
    result = OfflineRefiner().refine(RefineRequest(turns=turns, mode="i2v"))
    assert result.prompt.startswith("The scene in the picture comes to life, keeping its subject")
    assert "camera" in result.prompt and result.note == "Added motion, camera and style to the picture."


def test_words_shared_with_a_picture_direct_its_motion():
    turns = (Turn("user", "the waves roll in at sunset", "UALICE"),)
    prompt = OfflineRefiner().refine(RefineRequest(turns=turns, mode="i2v")).prompt
    assert "The waves roll in at sunset." in prompt and "golden-hour" in prompt


def picture_png(size, background, disc=None, shape="ellipse"):
    """A picture drawn here: a plain background, and optionally a shape (box, colour)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, background)
    if disc is not None:
        getattr(ImageDraw.Draw(image), shape)(disc[0], fill=disc[1])
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def test_remove_the_snow_drops_its_sentence_and_its_words():
    result = refine("a red fox running through snow", "remove the snow")
    assert result.prompt.startswith("A red fox running, captured")
    assert "snow" not in result.prompt.lower()
    assert result.note == "Removed: snow."


def test_no_snow_and_without_the_snow_remove_it_too():
    for reply in ("no snow", "without the snow", "get rid of the snow"):
        assert "snow" not in refine("a red fox running through snow", reply).prompt.lower()


def test_make_it_a_wolf_replaces_the_subject_everywhere():
    result = refine("a red fox running through snow", "add a second fox chasing it", "make it a wolf")
    assert result.prompt.startswith("A wolf running through snow")
    assert "A second wolf chasing it." in result.prompt
    assert "fox" not in result.prompt.lower() and "Actually" not in result.prompt
    assert result.note == "Changed: subject (fox → wolf)."


def test_change_the_fox_to_a_wolf_and_a_wolf_instead_replace_it_too():
    for reply in ("change the fox to a wolf", "a wolf instead", "replace the fox with a wolf"):
        assert refine("a red fox running through snow", reply).prompt.startswith("A wolf running")


def test_night_replaces_sunset_in_the_words_and_the_light():
    result = refine("a corgi surfing at sunset", "make it night")
    assert result.prompt.startswith("A corgi surfing at night")
    assert "sunset" not in result.prompt and "golden-hour" not in result.prompt
    assert "It is night" in result.prompt and result.note == "Changed: light."


def test_a_slower_camera_replaces_a_drone_shot():
    drone = refine("a corgi surfing at sunset", "drone shot").prompt
    slower = refine("a corgi surfing at sunset", "drone shot", "slower camera")
    assert "aerial drone shot" in drone
    assert "drone" not in slower.prompt and "The camera moves slowly and steadily" in slower.prompt
    assert slower.note == "Changed: camera."


def test_a_new_setting_replaces_the_old_one():
    result = refine("a red fox running through snow", "in a desert instead")
    assert result.prompt.startswith("A red fox running in a desert")
    assert "sand dunes" in result.prompt and "snow" not in result.prompt.lower()
    assert result.note == "Changed: setting (snow → desert)."


def test_a_second_edit_builds_on_the_first():
    result = refine("a red fox running through snow", "make it a wolf", "remove the snow")
    assert result.prompt.startswith("A wolf running, captured")
    assert "snow" not in result.prompt.lower()
    assert result.note == "Removed: snow."  # the note is about the newest reply only


def test_style_and_pace_replies_change_the_look_and_the_motion():
    result = refine("a red fox running through snow", "black and white, slower")
    assert "black and white" in result.prompt and "Photorealistic" not in result.prompt
    assert "slow motion" in result.prompt and result.note == "Changed: style, pace."


def test_a_reply_it_cant_apply_is_kept_as_a_detail_and_the_note_says_so():
    result = refine("a red fox running through snow", "make it more magical")
    assert "Make it more magical." in result.prompt
    assert result.note == "Nothing I could apply: “make it more magical”; I kept it as a detail."


def test_removing_what_isnt_there_says_so_and_changes_nothing():
    before = refine("a red fox running through snow").prompt
    result = refine("a red fox running through snow", "remove the music")
    assert result.prompt == before
    assert result.note == "Nothing I could remove: “remove the music” (the prompt has no music)."


def test_a_picture_is_described_from_its_colours_brightness_and_composition():
    dark_blue_with_low_orange_sun = picture_png(
        (320, 180), (15, 25, 80), ((150, 110, 190, 150), (255, 150, 30))
    )
    result = OfflineRefiner().refine(
        RefineRequest(
            turns=(Turn("user", "Animate this picture."),),
            mode="i2v",
            image=dark_blue_with_low_orange_sun,
            image_media_type="image/png",
        )
    )
    assert result.prompt.startswith(PICTURE_OPENING)
    assert "A dark, cool scene dominated by navy blue, in a wide landscape frame." in result.prompt
    assert "A bright round orange shape sits low in the frame, near the centre" in result.prompt
    assert "colours, light and composition" in result.note


def test_a_portrait_picture_says_portrait():
    description = describe_picture(picture_png((180, 320), (240, 240, 235)))
    assert "high-key" in description and "white" in description and "a tall portrait frame" in description


def test_a_horizon_is_placed_in_the_frame():
    sky_over_grass = picture_png(
        (300, 200), (135, 190, 235), ((0, 140, 300, 200), (30, 120, 40)), "rectangle"
    )
    assert "A horizon line runs low in the frame, with sky blue above and green below." in describe_picture(
        sky_over_grass
    )


def test_bytes_that_arent_a_picture_leave_the_words_alone():
    assert describe_picture(b"not a picture") == ""
    result = OfflineRefiner().refine(
        RefineRequest(turns=(Turn("user", "Animate this picture."),), mode="i2v", image=b"x")
    )
    assert result.note == "Added motion, camera and style to the picture."


def test_a_flood_of_unknown_words_keeps_the_note_short_and_the_prompt_bounded():
    result = refine("a fox", "A fox runs. " * 1700)
    assert len(result.prompt.split()) <= 170 and len(result.note) < 200
    assert result.note.endswith("and 1697 more; I kept it as a detail.")


def test_the_demos_reply_sets_night_and_a_slower_camera_in_one_turn():
    result = refine("a red fox running through snow", "make it night, with a slower camera")
    assert result.prompt.startswith("A red fox running through snow at night, captured")
    assert "It is night" in result.prompt and "The camera moves slowly and steadily" in result.prompt
    assert "tracks alongside" not in result.prompt and result.note == "Changed: light, camera."
