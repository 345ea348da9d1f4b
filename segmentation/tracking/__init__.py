"""Objects across video frames: detections joined into tracks, a person's correction propagated along its track."""
