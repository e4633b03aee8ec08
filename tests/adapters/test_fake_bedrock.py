"""The Converse fake's event-stream frames are the ones botocore's own parser reads."""

from __future__ import annotations

import json

from botocore.eventstream import EventStreamBuffer

from tests.fakes.bedrock import event_frame, exception_frame


def test_frames_parse_with_botocores_event_stream_decoder():
    buffer = EventStreamBuffer()
    buffer.add_data(
        event_frame("contentBlockDelta", {"delta": {"text": "A fox"}})
        + exception_frame("throttlingException", "slow down")
    )
    first, second = list(buffer)
    assert first.headers[":event-type"] == "contentBlockDelta"
    assert json.loads(first.payload) == {"delta": {"text": "A fox"}}
    assert second.headers[":message-type"] == "exception"
    assert second.to_response_dict()["status_code"] == 400
