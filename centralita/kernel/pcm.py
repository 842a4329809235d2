"""The sample type of speech audio everywhere: mono signed 16-bit PCM in a numpy array.

Defined here because its users sit side by side at the bottom of the media plane:
`realtime.audio` (frames, voice detection, recording) and `realtime.providers`
(recognisers and voices) may not import each other, and both speak it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Pcm16 = npt.NDArray[np.int16]  # mono signed 16-bit samples
