"""ScoreCAM, as pytorch_grad_cam.score_cam.ScoreCAM (method "scorecam" of the C library)."""
from .base_cam import BaseCAM


class ScoreCAM(BaseCAM):
    method = "scorecam"
    # images per pass: 0 = the library's (and the CLI's) 32; float32 sums in another
    # batch size round differently, so the map then differs from the CLI's in the last bits
    batch_size = 0
