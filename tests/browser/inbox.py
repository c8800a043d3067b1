"""What a browser walk does in an inbox row, whichever way the row lays out its comment box."""


def write_comment(row, text):
    """Type the decision comment in an inbox row; a comment box shown on demand is opened."""
    closed = row.locator("details:not([open]) > summary")
    if closed.count():
        closed.first.click()
    row.locator("textarea[name=comment]").fill(text)
