using LlamaBoard.Tests.Web.Fakes;
using LlamaBoard.Web;
using LlamaBoard.Web.Jobs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace LlamaBoard.Tests.Web.EndToEnd;

/// <summary>
/// The board end to end in Debian's Chromium (Playwright, headless) against the real app on a free loopback port.
/// With the fake trainer injected: fill the Train tab, Start, watch progress and loss points arrive, reload mid-run
/// and find the monitor with its history, see the run finish and appear on the Runs page. With the real engine:
/// train the demo model briefly, chat side by side with the base and the new adapter (streamed text, timed), export
/// the merged model, score texts' perplexity and predict (BLEU-4/ROUGE) on the identity data. Screenshots of every page and tab go to <c>screenshots/board/</c>
/// under the test output folder.
/// </summary>
public class BoardBrowserTests(ITestOutputHelper output)
{
    const string ChromiumPath = "/usr/bin/chromium";
    internal static readonly string Shots = Path.Combine(AppContext.BaseDirectory, "screenshots", "board");

    internal static async Task<IBrowser> LaunchChromiumAsync(IPlaywright playwright)
    {
        if (!File.Exists(ChromiumPath))
            Assert.Fail($"Chromium is missing at {ChromiumPath}: run `apt-get install chromium` (the browser tests drive Debian's Chromium; never `playwright install`).");
        return await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
    }

    internal static Task Shot(IPage page, string name) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Shots, name + ".png"), FullPage = true });

    /// <summary>Waits until Blazor's circuit is connected, so clicks and edits reach the server.</summary>
    internal static async Task WaitForCircuitAsync(IPage page)
    {
        await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
        await page.WaitForSelectorAsync(".train-tab, .runs-filters, .run-facts");
        await page.WaitForFunctionAsync("() => !!window.Blazor");
        await page.WaitForTimeoutAsync(300);
    }

    internal static async Task ChooseAsync(IPage page, string key, string item)
    {
        await page.Locator($".train-tab [data-key='{key}'] .mud-select, .top-bar [data-key='{key}'] .mud-select").First.ClickAsync();
        await page.Locator(".mud-popover-open .mud-list-item", new() { HasText = item }).First.ClickAsync();
    }

    /// <summary>
    /// Closes an open multi-select list with Escape and waits until the select has taken the focus back: MudSelect
    /// refocuses itself through a call from the server after closing, and a field filled before that call lands loses
    /// its input to the race (a person is never that fast; Playwright is).
    /// </summary>
    internal static async Task CloseListAsync(IPage page)
    {
        for (int attempt = 1; ; attempt++)
        {
            // Under load the key can arrive before the list is ready for it; pressing it again on a closed select is harmless.
            await page.Keyboard.PressAsync("Escape");
            try
            {
                await WaitForListClosedAsync(page, focusBack: true, timeoutMs: 5_000);
                return;
            }
            catch (TimeoutException) when (attempt < 4)
            {
            }
        }
    }

    /// <summary>
    /// Waits until no list is open; with <paramref name="focusBack"/>, also until a select holds the focus again (what
    /// Escape ends with). A single choice closes its list itself and leaves the focus on the page.
    /// </summary>
    internal static Task WaitForListClosedAsync(IPage page, bool focusBack = false, int timeoutMs = 10_000) =>
        page.WaitForFunctionAsync(
            focusBack
                ? "() => !document.querySelector('.mud-popover-open') && document.activeElement?.closest('.mud-select') != null"
                : "() => !document.querySelector('.mud-popover-open')",
            null, new() { Timeout = timeoutMs });

    static async Task<int> StepAsync(IPage page) =>
        int.Parse(await page.Locator(".run-monitor").GetAttributeAsync("data-step") ?? "0", System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task Train_watch_reload_finish_and_find_the_run_in_history()
    {
        Torch.EnsureReady();
        Directory.CreateDirectory(Shots);
        using var workspace = new TempWorkspace();
        string model = workspace.MakeModel("demo", "qwen3");
        string data = workspace.MakeData();
        var gate = new SemaphoreSlim(0);
        var runner = new FakeTrainingRunner { TotalSteps = 30, StepDelay = TimeSpan.Zero, Gate = gate, EvalEvery = 10, SaveEvery = 10 };

        await using var app = BoardHost.Build(
            ["--urls", "http://127.0.0.1:0", "--environment", "Production", $"--LlamaBoard:Workspace={workspace.Root}"],
            services => services.AddSingleton(new TrainerRegistration(() => runner)));
        await app.StartAsync();
        try
        {
            string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
            using var playwright = await Playwright.CreateAsync();
            await using var browser = await LaunchChromiumAsync(playwright);
            var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1000 } });
            var consoleErrors = new List<string>();
            page.Console += (_, message) => { if (message.Type == "error") consoleErrors.Add(message.Text); };

            // Open the board: the demo model is offered and filled in; fill the Train tab.
            await page.GotoAsync(address);
            await WaitForCircuitAsync(page);
            Assert.Equal(model, await page.InputValueAsync("#opt-model_name_or_path"));
            await Shot(page, "01-train-empty");
            await page.FillAsync("#opt-dataset_dir", data);
            await page.PressAsync("#opt-dataset_dir", "Tab");
            await ChooseAsync(page, "dataset", "demo_sft");
            await CloseListAsync(page);
            await ChooseAsync(page, "template", "qwen3");
            await WaitForListClosedAsync(page);
            await page.FillAsync("#opt-learning_rate", "1e-4");
            await page.PressAsync("#opt-learning_rate", "Tab");
            await page.FillAsync("#opt-num_train_epochs", "1");
            await page.PressAsync("#opt-num_train_epochs", "Tab");
            await page.Locator(".btn-start:not([disabled])").WaitForAsync();
            await Shot(page, "02-train-filled");

            // Start: the run appears and follows the trainer's steps.
            await page.ClickAsync(".btn-start");
            await page.WaitForSelectorAsync(".run-monitor[data-status='Running']");
            gate.Release(5);
            await page.WaitForSelectorAsync(".run-monitor[data-step='5']");
            var options = runner.Calls.Single();
            Assert.Equal(1e-4, options.Training.LearningRate);
            Assert.Equal(["demo_sft"], options.Data.Dataset);
            Assert.Equal("qwen3", options.Data.Template);

            // Each step reaches the browser quickly: release one and let the page itself note (with a mutation observer)
            // the moment it shows it, so the figure excludes Playwright's own round trips.
            var latencies = new List<double>();
            for (int step = 6; step <= 12; step++)
            {
                var shown = page.EvaluateAsync<double>(@"step => new Promise(resolve => {
                    const seen = () => document.querySelector(`.run-monitor[data-step='${step}']`);
                    if (seen()) { resolve(Date.now()); return; }
                    new MutationObserver((_, observer) => { if (seen()) { observer.disconnect(); resolve(Date.now()); } })
                        .observe(document.body, { subtree: true, attributes: true, childList: true });
                })", step);
                await page.WaitForTimeoutAsync(50); // the observer is in place before the step is released
                double released = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                gate.Release();
                latencies.Add(await shown.WaitAsync(TimeSpan.FromSeconds(5)) - released);
            }
            latencies.Sort();
            output.WriteLine($"event-to-browser latency (ms): {string.Join(", ", latencies.Select(l => l.ToString("0", System.Globalization.CultureInfo.InvariantCulture)))}");
            // The 3rd fastest of 7: a structurally slow path (a throttle, a poll) fails it, while a moment of CPU
            // contention on a shared 2-core machine does not.
            Assert.True(latencies[2] < 250, $"30th-percentile latency {latencies[2]:0} ms; the board must update within 250 ms");
            // The loss chart was drawn by Plotly with the points so far (raw + smoothed + one evaluation).
            await page.WaitForSelectorAsync(".metric-chart[data-chart^='loss-'] .js-plotly-plot .scatterlayer .trace");
            Assert.Equal("25", await page.Locator(".metric-chart[data-chart^='loss-']").GetAttributeAsync("data-points"));
            await Shot(page, "03-train-running");

            // Reload mid-run: the monitor re-attaches with the whole history so far.
            await page.ReloadAsync();
            await WaitForCircuitAsync(page);
            await page.WaitForSelectorAsync(".run-monitor[data-step='12']");
            Assert.Equal("25", await page.Locator(".metric-chart[data-chart^='loss-']").GetAttributeAsync("data-points"));
            Assert.Contains("Step 12/30", await page.InnerTextAsync(".progress-text"));
            await Shot(page, "04-train-after-reload");

            // A second browser attaches to the same run too.
            var second = await browser.NewPageAsync();
            await second.GotoAsync(address);
            await WaitForCircuitAsync(second);
            await second.WaitForSelectorAsync(".run-monitor[data-step='12']");

            gate.Release(100);
            await page.WaitForSelectorAsync(".run-monitor[data-status='Completed']", new() { Timeout = 30000 });
            await second.WaitForSelectorAsync(".run-monitor[data-status='Completed']", new() { Timeout = 30000 });
            Assert.Equal(30, await StepAsync(page));
            await Shot(page, "05-train-finished");

            // Every accordion of the Train tab opened: freeze, LoRA, RLHF, GaLore, BAdam and extra settings.
            foreach (var header in await page.Locator(".train-panels .mud-expand-panel-header").AllAsync())
                await header.ClickAsync();
            await page.Locator("#opt-badam_update_ratio").WaitForAsync();
            await Shot(page, "05b-train-all-settings");

            // The other tabs (exercised with the real engine in Train_for_real_then_chat_side_by_side_export_and_evaluate).
            foreach (var (tab, name, marker) in new[] { ("Evaluate & Predict", "06-evaluate", ".evaluate-tab .btn-eval-start"), ("Chat", "07-chat", ".chat-tab .chat-not-loaded"), ("Export", "08-export", ".export-tab .btn-export") })
            {
                await page.Locator(".mud-tab", new() { HasText = tab }).First.ClickAsync();
                await page.Locator(marker).WaitForAsync();
                await Shot(page, name);
            }

            // The run is in the history.
            await page.GotoAsync(address.TrimEnd('/') + "/runs");
            await WaitForCircuitAsync(page);
            var row = page.Locator(".run-row").First;
            await row.WaitForAsync();
            Assert.Contains("completed", await row.Locator(".run-status").InnerTextAsync());
            Assert.Contains("30 / 30", await row.InnerTextAsync());
            // Selecting the run overlays its loss curve.
            await row.Locator("td").First.Locator("input[type=checkbox]").ClickAsync();
            await page.WaitForSelectorAsync(".metric-chart[data-chart='runs-overlay'] .js-plotly-plot .scatterlayer .trace");
            Assert.Equal("30", await page.Locator(".metric-chart[data-chart='runs-overlay']").GetAttributeAsync("data-points"));
            await Shot(page, "09-runs");
            await row.Locator(".run-link").ClickAsync();
            await page.WaitForSelectorAsync(".run-facts");
            await page.WaitForSelectorAsync(".run-monitor[data-status='Completed']");
            await Shot(page, "10-run-page");

            // Chinese.
            await page.GotoAsync(address);
            await WaitForCircuitAsync(page);
            await page.ClickAsync(".language-menu");
            await page.ClickAsync(".lang-zh");
            await page.Locator(".mud-tab", new() { HasText = "训练" }).WaitForAsync();
            await WaitForCircuitAsync(page);
            await Shot(page, "11-train-chinese");

            Assert.Empty(consoleErrors);
            output.WriteLine($"screenshots: {Shots}");
        }
        finally
        {
            gate.Release(1000);
            await app.StopAsync();
        }
    }

    /// <summary>
    /// Fills a field by its input id and leaves it, so the form takes the value; then checks the value stayed (a
    /// render caused by another control, e.g. the model choice's slow handler, must not put the old value back).
    /// </summary>
    internal static async Task FillAsync(IPage page, string id, string value)
    {
        await page.FillAsync(id, value);
        await page.PressAsync(id, "Tab");
        await page.WaitForTimeoutAsync(100);
        Assert.Equal(value, await page.InputValueAsync(id));
    }

    /// <summary>
    /// The form for a short LoRA SFT on the project's identity data: 8 samples, batch 2, one epoch = 4 steps; waits
    /// until Start is enabled.
    /// </summary>
    internal static async Task FillShortIdentityRunAsync(IPage page, string data)
    {
        await FillAsync(page, "#opt-dataset_dir", data);
        await ChooseAsync(page, "dataset", "identity");
        await CloseListAsync(page);
        await FillAsync(page, "#opt-learning_rate", "1e-3");
        await FillAsync(page, "#opt-num_train_epochs", "1");
        await FillAsync(page, "#opt-max_samples", "8");
        await FillAsync(page, "#opt-cutoff_len", "128");
        await FillAsync(page, "#opt-per_device_train_batch_size", "2");
        await FillAsync(page, "#opt-gradient_accumulation_steps", "1");
        await page.Locator(".btn-start:not([disabled])").WaitForAsync();
    }

    [Fact]
    public async Task Train_for_real_then_chat_side_by_side_export_and_evaluate()
    {
        Torch.EnsureReady();
        Directory.CreateDirectory(Shots);
        using var workspace = new TempWorkspace();
        string model = Path.Combine(workspace.Root, "models", "demo");
        LlamaBoard.Engine.Models.DemoModel.EnsureCreated(model);
        string data = Path.Combine(LlamaBoard.Tests.Engine.Configuration.ConfigTestKit.RepositoryRoot(), "data");

        // The app as shipped: the engine's real trainer, chat engine and exporter. The project's data folder is
        // outside the default roots (the test runs in bin/), so it is allowed explicitly, as a user would.
        await using var app = BoardHost.Build(
            ["--urls", "http://127.0.0.1:0", "--environment", "Production", $"--LlamaBoard:Workspace={workspace.Root}",
             $"--LlamaBoard:Roots:0={workspace.Root}", $"--LlamaBoard:Roots:1={data}"]);
        await app.StartAsync();
        try
        {
            string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
            using var playwright = await Playwright.CreateAsync();
            await using var browser = await LaunchChromiumAsync(playwright);
            var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1000 } });
            var consoleErrors = new List<string>();
            page.Console += (_, message) => { if (message.Type == "error") consoleErrors.Add(message.Text); };
            await page.GotoAsync(address);
            await WaitForCircuitAsync(page);

            // A short LoRA SFT of the demo model on the project's identity data: 8 samples, batch 2, one epoch = 4 steps.
            await FillAsync(page, "#opt-model_name_or_path", model);
            await ChooseAsync(page, "template", "qwen3");
            await WaitForListClosedAsync(page);
            await FillShortIdentityRunAsync(page, data);
            await page.ClickAsync(".btn-start");
            await page.WaitForSelectorAsync(".run-monitor[data-status='Completed']", new() { Timeout = 180_000 });
            Assert.Equal(4, await StepAsync(page));
            await Shot(page, "20-real-train-finished");

            // Chat: the trained adapter next to the base model, the same message and seed.
            await page.Locator(".mud-tab", new() { HasText = "Chat" }).First.ClickAsync();
            await page.Locator(".chat-adapter-select").ClickAsync();
            await page.Locator(".mud-popover-open .mud-list-item", new() { HasText = "train_" }).First.ClickAsync();
            await CloseListAsync(page);
            await FillAsync(page, ".chat-tab #opt-max_new_tokens", "48");
            await page.ClickAsync(".btn-load-model");
            await page.WaitForSelectorAsync(".chat-tab[data-loaded='true']", new() { Timeout = 60_000 });
            Assert.Equal(2, await page.Locator(".chat-pane").CountAsync());
            Assert.StartsWith("train_", await page.Locator(".chat-pane-title").Nth(1).InnerTextAsync(), StringComparison.Ordinal);

            await page.FillAsync("#chat-message", "Who are you?");
            await page.Locator(".btn-submit:not([disabled])").WaitForAsync();
            // The page notes when the first streamed text shows in the first pane (a mutation observer), so the figure
            // is click-to-text as the user sees it.
            // It also notes whether that pane was still generating then: text must stream in, not arrive all at the end.
            var firstText = page.EvaluateAsync<double[]>(@"() => new Promise(resolve => {
                const seen = () => { const p = document.querySelector('.chat-pane'); return p && [...p.querySelectorAll('.chat-answer, .chat-thought-text')].some(e => e.textContent.length > 0); };
                new MutationObserver((_, observer) => {
                    if (!seen()) return;
                    observer.disconnect();
                    resolve([Date.now(), document.querySelector('.chat-pane').dataset.streaming === 'true' ? 1 : 0]);
                }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
            })");
            await page.WaitForTimeoutAsync(50);
            double clicked = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            await page.ClickAsync(".btn-submit");
            var first = await firstText.WaitAsync(TimeSpan.FromSeconds(60));
            double firstTokenMs = first[0] - clicked;
            Assert.True(first[1] == 1, "the first text showed while the pane was still generating (streamed)");
            // Streaming: the first pane shows text while the reply is still being generated.
            await page.WaitForSelectorAsync(".chat-stats", new() { Timeout = 60_000 });
            await page.WaitForFunctionAsync("() => document.querySelectorAll('.chat-stats').length === 2", null, new() { Timeout = 60_000 });
            var answers = await page.Locator(".chat-pane").EvaluateAllAsync<string[]>(
                "panes => panes.map(p => [...p.querySelectorAll('.chat-thought-text, .chat-answer')].map(e => e.textContent).join('|'))");
            Assert.All(answers, a => Assert.True(a.Trim('|').Length > 0, "each pane shows a reply"));
            var stats = await page.Locator(".chat-stats").AllInnerTextsAsync();
            output.WriteLine($"chat: first text in the browser {firstTokenMs:0} ms after Submit; {string.Join(" | ", stats)}");
            // Generous: the shared test machine runs many builds at once; the figure is reported, not tuned for.
            Assert.True(firstTokenMs < 15000, $"first streamed text after {firstTokenMs:0} ms");
            if (await page.Locator(".chat-thought summary").CountAsync() > 0) await page.Locator(".chat-thought summary").First.ClickAsync();
            await Shot(page, "21-chat-side-by-side");

            await page.ClickAsync(".btn-unload-model");
            await page.WaitForSelectorAsync(".chat-tab[data-loaded='false']");

            // Export: the trained adapter merged into the demo model, written as a Hugging Face folder.
            await page.Locator(".mud-tab", new() { HasText = "Export" }).First.ClickAsync();
            await page.Locator(".export-adapter-select").ClickAsync();
            await page.Locator(".mud-popover-open .mud-list-item", new() { HasText = "train_" }).First.ClickAsync();
            await CloseListAsync(page);
            string exportDir = Path.Combine(workspace.Root, "exported");
            await FillAsync(page, "#opt-export_dir", exportDir);
            await page.Locator(".btn-export:not([disabled])").WaitForAsync();
            await page.ClickAsync(".btn-export");
            await page.WaitForSelectorAsync(".export-done", new() { Timeout = 60_000 });
            var files = await page.Locator(".export-file").AllInnerTextsAsync();
            Assert.Contains(files, f => f.Contains("model.safetensors", StringComparison.Ordinal));
            Assert.True(File.Exists(Path.Combine(exportDir, "config.json")));
            await Shot(page, "22-export-done");

            // Evaluate: perplexity of two texts with the same adapter (the top bar's choice, set on the Export tab).
            await page.Locator(".mud-tab", new() { HasText = "Evaluate" }).First.ClickAsync();
            await page.Locator(".eval-mode").ClickAsync();
            await page.Locator(".mud-popover-open .mud-list-item", new() { HasText = "Perplexity of texts" }).First.ClickAsync();
            await WaitForListClosedAsync(page);
            await page.FillAsync("#eval-texts", "I am an assistant.\nWho are you?");
            await page.ClickAsync(".btn-eval-start");
            await page.WaitForSelectorAsync(".ppl-summary", new() { Timeout = 60_000 });
            Assert.Equal(2, await page.Locator(".ppl-item").CountAsync());
            Assert.True(double.Parse(await page.InnerTextAsync(".ppl-mean"), System.Globalization.CultureInfo.InvariantCulture) > 1);
            await Shot(page, "23-evaluate-perplexity");

            // Predict: the same adapter generates replies for 4 identity examples (batch 2: 2 evaluation + 2 prediction
            // batches), scored with BLEU-4/ROUGE; the page shows what the engine wrote to predict_results.json.
            await page.Locator(".eval-mode").ClickAsync();
            await page.Locator(".mud-popover-open .mud-list-item", new() { HasText = "Predict" }).First.ClickAsync();
            await WaitForListClosedAsync(page);
            await page.Locator(".evaluate-tab [data-key='eval_dataset'] .mud-select").First.ClickAsync();
            await page.Locator(".mud-popover-open .mud-list-item", new() { HasText = "identity" }).First.ClickAsync();
            await CloseListAsync(page);
            await FillAsync(page, ".evaluate-tab #opt-max_samples", "4");
            await FillAsync(page, ".evaluate-tab #opt-per_device_eval_batch_size", "2");
            await FillAsync(page, ".evaluate-tab #opt-max_new_tokens", "16");
            await page.Locator(".btn-eval-start:not([disabled])").WaitForAsync();
            var predictClock = System.Diagnostics.Stopwatch.StartNew();
            await page.ClickAsync(".btn-eval-start");
            await page.WaitForSelectorAsync(".predict-metrics, .eval-failed", new() { Timeout = 120_000 });
            if (await page.Locator(".eval-failed").CountAsync() > 0) Assert.Fail(await page.InnerTextAsync(".eval-failed"));
            output.WriteLine($"predict: 4 examples, 16 new tokens, in the browser {predictClock.ElapsedMilliseconds} ms after Start");
            Assert.Equal("100", await page.GetAttributeAsync(".eval-steps", "data-progress"));
            Assert.Equal("4", await page.GetAttributeAsync(".eval-steps", "data-total"));
            Assert.Equal(4, await page.Locator(".prediction").CountAsync());
            string saved = (await page.InnerTextAsync(".predict-saved"))["Saved to ".Length..].Trim();
            using (var written = System.Text.Json.JsonDocument.Parse(File.ReadAllText(saved)))
            {
                double bleu = written.RootElement.GetProperty("predict_bleu-4").GetDouble();
                string shown = await page.GetAttributeAsync(".predict-metrics [data-key='predict_bleu-4']", "data-value") ?? "";
                Assert.Equal(bleu, double.Parse(shown, System.Globalization.CultureInfo.InvariantCulture));
            }
            await Shot(page, "24-evaluate-predict");
            Assert.Empty(consoleErrors);
            output.WriteLine($"screenshots: {Shots}");
        }
        finally
        {
            await app.StopAsync();
        }
    }
}
