"""tests/integration/browserlib.py — headless Debian chromium for the browser tests
(test_*_browser.py, run with /usr/bin/python3, which has python3-selenium): what is
missing to run them (they skip with exit 77 naming it) and a browser with a given
language (Accept-Language and navigator.language) and window size."""
import shutil
import sys

try:
    from selenium import webdriver
    HAVE_SELENIUM = True
except ImportError:
    HAVE_SELENIUM = False

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
MISSING = [n for n, ok in (("chromium", CHROMIUM), ("chromium-driver", CHROMEDRIVER),
                           ("python3-selenium for %s" % sys.executable, HAVE_SELENIUM)) if not ok]


def browser(lang, width=1280, height=1500):
    o = webdriver.ChromeOptions()
    o.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=%d,%d" % (width, height), "--lang=" + lang, "--no-first-run",
              "--disable-extensions", "--disable-background-networking"):
        o.add_argument(a)
    o.add_experimental_option("prefs", {"intl.accept_languages": lang})
    svc = webdriver.ChromeService(executable_path=CHROMEDRIVER) if hasattr(
        webdriver, "ChromeService") else webdriver.chrome.service.Service(CHROMEDRIVER)
    return webdriver.Chrome(options=o, service=svc)
