package io.flotilla.engine.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.google.protobuf.ByteString;
import io.flotilla.client.FlotillaClient;
import io.flotilla.kv.proto.BalancerSwitch;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.UpdateSettingsRequest;
import java.io.File;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Function;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.NoSuchElementException;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * A node's status page in a real headless Chromium (Debian's chromium and chromium-driver, which
 * .ci/run installs): it lists the ranges with their leaders, and without the test reloading it, it
 * follows a leadership moved to another node, a split at a key full of markup (shown as text, not
 * as markup), and a node going down. Skips where the browser is not installed, unless CI is set.
 */
class StatusPageBrowserTest {
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    private static final Duration PAGE_WAIT = Duration.ofSeconds(20);

    @TempDir
    Path dir;

    /** Headless Chromium through Debian's chromedriver: Selenium Manager cannot download a browser or driver here. */
    private static WebDriver openBrowser() {
        if (!Files.isExecutable(CHROMIUM) || !Files.isExecutable(CHROMEDRIVER)) {
            String missing = "the status page test needs " + CHROMIUM + " and " + CHROMEDRIVER
                    + " (Debian: apt-get install -y chromium chromium-driver)";
            if ("true".equals(System.getenv("CI"))) {
                fail(missing + "; .ci/run installs them, so under CI their absence is a failure");
            }
            Assumptions.abort(missing + "; skipped because CI is not set");
        }
        System.setProperty("webdriver.chrome.driver", CHROMEDRIVER.toString());
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu");
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(new File(CHROMEDRIVER.toString())).usingAnyFreePort().build();
        return new ChromeDriver(service, options);
    }

    /** Waits for the page, as it reloads itself, to satisfy {@code condition}; a page caught mid-reload is read again. */
    private static void awaitPage(WebDriver browser, String what, Function<WebDriver, Boolean> condition) {
        new WebDriverWait(browser, PAGE_WAIT, Duration.ofMillis(200))
                .ignoring(StaleElementReferenceException.class)
                .ignoring(NoSuchElementException.class)
                .withMessage(() -> what + "; the page shows:\n" + browser.findElement(By.tagName("body")).getText())
                .until(condition);
    }

    private static String cell(WebDriver browser, String css) {
        return browser.findElement(By.cssSelector(css)).getText().trim();
    }

    @Test
    void showsTheRangesAndLeadersAndFollowsALeadershipMoveASplitAndANodeGoingDown() throws Exception {
        WebDriver browser = openBrowser();
        int port = TestCluster.freePorts(1)[0];
        try (TestCluster cluster = new TestCluster(dir)) {
            cluster.start(1, c -> c.withMetricsListen(new InetSocketAddress("127.0.0.1", port)));
            cluster.start(2);
            cluster.start(3);
            RangeDescriptor range = cluster.rangeOf(ByteString.copyFromUtf8("k"));
            long leader = cluster.awaitLeader(range.getRangeId());
            String leaderCell = "#ranges tr[data-range='" + range.getRangeId() + "'] td.leader";

            browser.get("http://127.0.0.1:" + port + "/");
            assertThat(browser.getTitle()).isEqualTo("Flotilla node 1");
            awaitPage(browser, "every range and the meta range listed, each with a leader", b -> {
                var leaders = b.findElements(By.cssSelector("#ranges td.leader"));
                return leaders.size() == TestCluster.RANGES + 1
                        && leaders.stream().allMatch(td -> td.getText().matches("[123]"));
            });
            awaitPage(browser, "nodes 2 and 3 up", b -> cell(b, "#nodes tr[data-node='1'] td:nth-child(3)").equals("this node")
                    && cell(b, "#nodes tr[data-node='2'] td:nth-child(3)").equals("up")
                    && cell(b, "#nodes tr[data-node='3'] td:nth-child(3)").equals("up"));
            awaitPage(browser, "range " + range.getRangeId() + " led by node " + leader,
                    b -> cell(b, leaderCell).equals(Long.toString(leader)));
            String firstGenerated = cell(browser, "#generated");

            try (FlotillaClient client = FlotillaClient.builder()
                    .seeds("127.0.0.1:" + cluster.clientAddress(1).getPort()).clusterId(TestCluster.CLUSTER_ID)
                    .requestTimeout(Duration.ofSeconds(15)).build()) {
                // The balancer evens out leader counts: it could hand this leadership straight back.
                client.updateSettings(UpdateSettingsRequest.newBuilder().setBalancer(BalancerSwitch.BALANCER_OFF).build())
                        .join();
                long target = leader % 3 + 1;
                client.transferLeader("k".getBytes(StandardCharsets.UTF_8), target).join();
                awaitPage(browser, "the page, reloading itself, shows node " + target + " leading range " + range.getRangeId(),
                        b -> cell(b, leaderCell).equals(Long.toString(target)));
                assertThat(cell(browser, "#generated")).isNotEqualTo(firstGenerated);

                String markup = "<b>k</b>";
                client.splitRange(markup.getBytes(StandardCharsets.UTF_8)).join();
                awaitPage(browser, "the split at " + markup + " listed, its key shown as text",
                        b -> b.findElements(By.cssSelector("#ranges td.keys")).stream()
                                .anyMatch(td -> td.getText().contains("\"" + markup + "\"")));
                assertThat(browser.findElements(By.cssSelector("#ranges b"))).as("markup from a key").isEmpty();
                awaitPage(browser, "one range more after the split",
                        b -> b.findElements(By.cssSelector("#ranges tr[data-range]")).size() == TestCluster.RANGES + 2);
            }

            cluster.stop(3);
            awaitPage(browser, "node 3 shown down once node 1 stops hearing from it",
                    b -> cell(b, "#nodes tr[data-node='3'] td:nth-child(3)").equals("down"));
        } finally {
            browser.quit();
        }
    }
}
