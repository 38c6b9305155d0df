"""The Response page's 'Borrowing across subtypes (exploratory)' section in a real Chromium: opened from a link
that sets its controls, drawn without error, screenshot to tests/artifacts/screenshots/."""
from __future__ import annotations

from tests.browser.conftest import SCREENSHOTS, wait_until_idle

SECTION = "Borrowing across subtypes (exploratory)"


def test_response_page_shows_the_borrowing_section(page, app_url):
    page.goto(f"{app_url}/response?borrow_model=exnex&borrow_threshold=25&heterogeneity=small")
    wait_until_idle(page)
    heading = page.locator('[data-testid="stMain"] h3').filter(has_text=SECTION)
    heading.wait_for()
    assert page.locator('[data-testid="stException"]').count() == 0
    heading.scroll_into_view_if_needed()
    page.evaluate("""() => {  // the section's heading to the top of Streamlit's scrolling container
        const h = [...document.querySelectorAll('[data-testid="stMain"] h3')].find(e => e.innerText.includes('Borrowing'));
        h.scrollIntoView({block: 'start'});
    }""")
    page.wait_for_timeout(1500)  # let the chart draw
    # the chart of the section is a Vega canvas below the heading
    box = heading.bounding_box()
    assert box is not None
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1440, "height": 1800})
    page.wait_for_timeout(800)
    path = SCREENSHOTS / "response-borrowing.png"
    page.screenshot(path=str(path))
    assert path.stat().st_size > 20_000
    text = page.locator('[data-testid="stMain"]').inner_text()
    assert "Exploratory" in text and "exchangeable" in text  # (table cells are drawn on a canvas)
