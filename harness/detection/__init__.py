"""Object detection pieces shared by the RetinaNet, SSD-ResNet34 and YOLO benchmarks.

Anchors, box decoding, NMS, MLPerf's accuracy-log records and pycocotools scoring, each following the MLPerf
reference (mlcommons/inference vision/classification_and_detection and the models it was exported from).
"""
