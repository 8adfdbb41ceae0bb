"""Object detection pieces shared by the RetinaNet and SSD-ResNet34 benchmarks.

Anchors, box decoding, NMS, MLPerf's accuracy-log records and pycocotools scoring, each following the MLPerf
reference (mlcommons/inference vision/classification_and_detection and the models it was exported from).
"""
