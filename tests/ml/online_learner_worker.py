"""An online learner process for the restart test: learns a stream until it has learned
``expected`` records, then saves its state and exits. Its features take a little time per
record, so a kill -9 lands mid-stream."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from river import linear_model

from headwater.ml.online import LearnerState, OnlineLearner, OnlineLearningSettings


class SlowFeatures:
    """x and nothing else, after a pause (picklable: it is saved with the model)."""

    def __call__(self, event: dict) -> dict[str, float]:
        time.sleep(0.001)
        return {"x": float(event["x"])}


def new_state() -> LearnerState:
    return LearnerState(model=linear_model.LogisticRegression(), features=SlowFeatures())


async def main(endpoint: str, stream: str, output: str, workdir: Path, expected: int) -> None:
    learner = OnlineLearner(
        OnlineLearningSettings(
            stream=stream,
            application=f"{stream}-learner",
            state_path=workdir / "state.pickle",
            label_field="y",
            id_field="id",
            output_stream=output,
            checkpoint_records=100,
            failover_time=2.0,
        ),
        new_state,
        lease_store=str(workdir / "leases.sqlite"),
        endpoint_url=endpoint,
    )
    task = asyncio.create_task(learner.run())
    deadline = time.monotonic() + 60
    while learner.state.learned < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    learner.stop()
    await task


if __name__ == "__main__":
    # Run the imported module's main, so pickles name SlowFeatures by its importable module.
    from tests.ml import online_learner_worker as worker

    endpoint, stream, output, workdir, expected = sys.argv[1:]
    asyncio.run(worker.main(endpoint, stream, output, Path(workdir), int(expected)))
