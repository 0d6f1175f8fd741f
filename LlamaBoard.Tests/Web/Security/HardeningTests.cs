using System.Net;
using System.Net.Http.Headers;
using LlamaBoard.Tests.Web.Fakes;
using LlamaBoard.Web;
using LlamaBoard.Web.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace LlamaBoard.Tests.Web.Security;

/// <summary>
/// The board's defences on a real Kestrel host: loopback by default, security headers, antiforgery, bounded
/// request bodies, and rate-limited wrong tokens.
/// </summary>
public sealed class HardeningTests
{
    [Fact]
    public async Task By_default_the_board_listens_on_loopback_only()
    {
        using var workspace = new TempWorkspace();
        await using var app = BoardHost.Build([$"--LlamaBoard:Workspace={workspace.Root}"]);
        var urls = ListenAddresses.FromConfiguration(app.Configuration);
        Assert.Equal(["http://127.0.0.1:7860"], urls);
    }

    [Fact]
    public void Container_style_http_ports_count_as_every_interface_unless_urls_are_set()
    {
        var ports = new ConfigurationBuilder().AddInMemoryCollection([new("http_ports", "8080")]).Build();
        Assert.Equal(["http://*:8080"], ListenAddresses.FromConfiguration(ports));
        Assert.Throws<BoardStartupException>(() => ListenAddresses.EnsureSafe(ListenAddresses.FromConfiguration(ports), token: null));
        var both = new ConfigurationBuilder().AddInMemoryCollection([new("http_ports", "8080"), new("urls", "http://127.0.0.1:7860")]).Build();
        Assert.Equal(["http://127.0.0.1:7860"], ListenAddresses.FromConfiguration(both)); // Kestrel ignores the ports then
    }

    [Fact]
    public async Task Headers_antiforgery_body_limit_and_rate_limited_tokens()
    {
        Torch.EnsureReady();
        using var workspace = new TempWorkspace();
        await using var app = BoardHost.Build(["--urls", "http://127.0.0.1:0", $"--LlamaBoard:Workspace={workspace.Root}", "--LlamaBoard:AccessToken=s3cret"]);
        await app.StartAsync();
        try
        {
            var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
            var cookies = new CookieContainer();
            using var browser = new HttpClient(new HttpClientHandler { CookieContainer = cookies, AllowAutoRedirect = false }) { BaseAddress = address };
            using var anonymous = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = address };

            // Security headers on the login page, on refusals and on the board's pages.
            using (var login = await browser.PostAsync(new Uri("/login", UriKind.Relative), new FormUrlEncodedContent([new("token", "s3cret"), new("returnUrl", "/")])))
                AssertHeaders(login);
            using (var page = await browser.GetAsync(new Uri("/runs", UriKind.Relative)))
            {
                Assert.Equal(HttpStatusCode.OK, page.StatusCode);
                AssertHeaders(page);
            }
            using (var refused = await anonymous.GetAsync(new Uri("/runs", UriKind.Relative)))
                AssertHeaders(refused);

            // Antiforgery: a form posted to a page without the antiforgery token is refused, even when signed in.
            using (var forged = await browser.PostAsync(new Uri("/", UriKind.Relative), new FormUrlEncodedContent([new("x", "1")])))
                Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);

            // Bodies beyond the board's limit are refused before they are read.
            using (var tooLarge = new HttpRequestMessage(HttpMethod.Post, "/login") { Content = new ByteArrayContent(new byte[2 * RequestLimits.BoardBodyBytes]) })
            {
                tooLarge.Headers.ExpectContinue = true; // the refused body is then never sent
                using var huge = await browser.SendAsync(tooLarge);
                Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.StatusCode);
            }

            // Ten wrong tokens lock the address: then even the right token gets 429 (so a guesser learns nothing),
            // at the hub, in the address and at the login page; a browser that signed in before keeps working.
            for (int i = 0; i < FailedAttempts.Limit; i++)
                Assert.Equal(HttpStatusCode.Unauthorized, (await Bearer(anonymous, $"guess-{i}")).StatusCode);
            using (var locked = await Bearer(anonymous, "s3cret"))
            {
                Assert.Equal(HttpStatusCode.TooManyRequests, locked.StatusCode);
                Assert.True(locked.Headers.RetryAfter?.Delta > TimeSpan.Zero);
            }
            Assert.Equal(HttpStatusCode.TooManyRequests, (await anonymous.GetAsync(new Uri("/runs?token=s3cret", UriKind.Relative))).StatusCode);
            using (var login = await anonymous.PostAsync(new Uri("/login", UriKind.Relative), new FormUrlEncodedContent([new("token", "s3cret")])))
                Assert.Equal(HttpStatusCode.TooManyRequests, login.StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri("/runs", UriKind.Relative))).StatusCode);
        }
        finally
        {
            await app.StopAsync();
        }
    }

    static Task<HttpResponseMessage> Bearer(HttpClient client, string token)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/hubs/training/negotiate?negotiateVersion=1");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client.SendAsync(request);
    }

    static void AssertHeaders(HttpResponseMessage response)
    {
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
        Assert.Equal("no-referrer", response.Headers.GetValues("Referrer-Policy").Single());
        Assert.Contains("frame-ancestors 'none'", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
    }
}
