using System.Net;
using LlamaBoard.Tests.Web.Fakes;
using LlamaBoard.Web;
using LlamaBoard.Web.Hubs;
using LlamaBoard.Web.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace LlamaBoard.Tests.Web.Security;

/// <summary>DESIGN.md's rule: loopback by default; beyond loopback only with an access token, required everywhere when set.</summary>
public class AccessTokenTests
{
    [Theory]
    [InlineData("http://127.0.0.1:7860", true)]
    [InlineData("http://localhost:7860", true)]
    [InlineData("http://127.5.6.7:80", true)]
    [InlineData("http://[::1]:7860", true)]
    [InlineData("http://0.0.0.0:7860", false)]
    [InlineData("http://*:7860", false)]
    [InlineData("http://+:7860", false)]
    [InlineData("http://[::]:7860", false)]
    [InlineData("http://192.168.1.20:7860", false)]
    [InlineData("https://board.example:443", false)]
    public void Loopback_addresses_are_recognised(string url, bool loopback) => Assert.Equal(loopback, ListenAddresses.IsLoopback(url));

    [Fact]
    public void Binding_beyond_loopback_without_a_token_refuses_to_start_and_says_what_to_do()
    {
        using var workspace = new TempWorkspace();
        var error = Assert.Throws<BoardStartupException>(() =>
            BoardHost.Build(["--urls", "http://0.0.0.0:7860", $"--LlamaBoard:Workspace={workspace.Root}"]));
        Assert.Contains("http://0.0.0.0:7860", error.Message);
        Assert.Contains("LLAMABOARD_TOKEN", error.Message);
        Assert.Contains("127.0.0.1", error.Message);
    }

    [Fact]
    public async Task Binding_beyond_loopback_with_a_token_builds()
    {
        using var workspace = new TempWorkspace();
        // Built, not started: nothing listens beyond this machine.
        await using var app = BoardHost.Build(["--urls", "http://0.0.0.0:7860", $"--LlamaBoard:Workspace={workspace.Root}", "--LlamaBoard:AccessToken=s3cret"]);
        Assert.NotNull(app);
    }

    [Fact]
    public async Task With_a_token_every_page_asset_and_the_hub_need_it()
    {
        Torch.EnsureReady();
        using var workspace = new TempWorkspace();
        await using var app = BoardHost.Build(["--urls", "http://127.0.0.1:0", $"--LlamaBoard:Workspace={workspace.Root}", "--LlamaBoard:AccessToken=s3cret"]);
        await app.StartAsync();
        try
        {
            var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
            using var anonymous = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = address };

            // A page without the token goes to the login page; assets and the hub get 401.
            using var page = new HttpRequestMessage(HttpMethod.Get, "/runs");
            page.Headers.Accept.ParseAdd("text/html");
            using var pageResponse = await anonymous.SendAsync(page);
            Assert.Equal(HttpStatusCode.Redirect, pageResponse.StatusCode);
            Assert.Equal("/login?returnUrl=%2Fruns", pageResponse.Headers.Location!.OriginalString);
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(new Uri("_content/MudBlazor/MudBlazor.min.css", UriKind.Relative))).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsync(new Uri($"{TrainingHub.Path}/negotiate?negotiateVersion=1", UriKind.Relative), null)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(new Uri("/login", UriKind.Relative))).StatusCode);

            // A wrong token at the login page is refused; the right one sets the cookie that opens everything.
            using var wrong = await anonymous.PostAsync(new Uri("/login", UriKind.Relative),
                new FormUrlEncodedContent([new("token", "guess"), new("returnUrl", "/runs")]));
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
            Assert.False(wrong.Headers.Contains("Set-Cookie"));

            var cookies = new CookieContainer();
            using var browser = new HttpClient(new HttpClientHandler { CookieContainer = cookies, AllowAutoRedirect = false }) { BaseAddress = address };
            using var login = await browser.PostAsync(new Uri("/login", UriKind.Relative),
                new FormUrlEncodedContent([new("token", "s3cret"), new("returnUrl", "/runs")]));
            Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
            Assert.Equal("/runs", login.Headers.Location!.OriginalString);
            Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri("/runs", UriKind.Relative))).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri("_content/MudBlazor/MudBlazor.min.css", UriKind.Relative))).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await browser.PostAsync(new Uri($"{TrainingHub.Path}/negotiate?negotiateVersion=1", UriKind.Relative), null)).StatusCode);

            // The token in the address works once: it becomes the cookie and leaves the address.
            var fresh = new CookieContainer();
            using var linked = new HttpClient(new HttpClientHandler { CookieContainer = fresh, AllowAutoRedirect = false }) { BaseAddress = address };
            using var first = await linked.GetAsync(new Uri("/runs?token=s3cret&x=1", UriKind.Relative));
            Assert.Equal(HttpStatusCode.Redirect, first.StatusCode);
            Assert.Equal("/runs?x=1", first.Headers.Location!.OriginalString);
            Assert.Equal(HttpStatusCode.OK, (await linked.GetAsync(new Uri("/runs?x=1", UriKind.Relative))).StatusCode);

            // Hub clients may send the token as a bearer header instead.
            using var hubRequest = new HttpRequestMessage(HttpMethod.Post, $"{TrainingHub.Path}/negotiate?negotiateVersion=1");
            hubRequest.Headers.Authorization = new("Bearer", "s3cret");
            Assert.Equal(HttpStatusCode.OK, (await anonymous.SendAsync(hubRequest)).StatusCode);
        }
        finally
        {
            await app.StopAsync();
        }
    }

    [Fact]
    public async Task Without_a_token_on_loopback_nothing_asks_for_one()
    {
        Torch.EnsureReady();
        using var workspace = new TempWorkspace();
        await using var app = BoardHost.Build(["--urls", "http://127.0.0.1:0", $"--LlamaBoard:Workspace={workspace.Root}"]);
        await app.StartAsync();
        try
        {
            var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
            using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = address };
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri("/runs", UriKind.Relative))).StatusCode);
        }
        finally
        {
            await app.StopAsync();
        }
    }
}
