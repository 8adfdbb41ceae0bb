"""Object detection pieces shared by the RetinaNet, SSD-ResNet34 and YOLO benchmarks.

Anchors, box decoding, NMS, the accuracy-log payload (`payload.py`) and pycocotools scoring, each following the MLPerf
reference (mlcommons/inference vision/classification_and_detection and the models it was exported from).
"""
