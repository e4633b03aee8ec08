"""BlobStore adapters (`filesystem`, the local default, and `s3`) and the layout of keys they share.

`renders/<job_id>/` holds what a job wrote (the SageMaker output prefix), `images/<session>/` the
pictures people shared, `specs/<job_id>/spec.json` what each job was asked to do.
"""

RENDER_OUTPUTS = ("video.mp4", "poster.jpg", "result.json")


def render_key(job_id: str, name: str) -> str:
    return f"renders/{job_id}/{name}"


def spec_key(job_id: str) -> str:
    return f"specs/{job_id}/spec.json"
