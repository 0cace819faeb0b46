"""
Statistical token watermarks (issue 13): keyed schemes and a calibrated detector.
"""
