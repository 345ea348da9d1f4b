from protolabel.segmentation.errors import first_line


def test_first_line_of_a_message_or_the_type_name():
    assert first_line(ValueError("  bad file\nTraceback (most recent call last):\n  ...")) == "bad file"
    assert first_line(KeyError()) == "KeyError"
    assert first_line(RuntimeError("   \n  ")) == "RuntimeError"
