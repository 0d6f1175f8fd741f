using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using LlamaBoard.Web.Security;

namespace LlamaBoard.Tests.Web.Api;

/// <summary>
/// The API refuses what would exhaust the server, with OpenAI-shaped messages: max_tokens beyond the model's
/// context, over-large bodies, bodies that are not UTF-8 or repeat a key, and repeated wrong keys.
/// </summary>
public sealed class ApiLimitsTests(ApiTestServer server) : IClassFixture<ApiTestServer>
{
    static async Task<(HttpStatusCode Status, string Body, HttpResponseMessage Response)> Post(Uri endpoint, HttpContent content, string? key = null)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(endpoint + "/chat/completions")) { Content = content };
        if (key is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        // Wait for "100 Continue" before sending a body: a refused body is then never sent (and the server, which
        // answers 413 before reading, does not cut the connection under a client still writing).
        request.Headers.ExpectContinue = true;
        var response = await http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), response);
    }

    static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    static JsonElement Error(string body) => JsonDocument.Parse(body).RootElement.GetProperty("error").Clone();

    [Fact]
    public async Task Max_tokens_beyond_the_context_is_refused_with_the_numbers()
    {
        int context = server.Engine.Host.Model.Config.MaxPositionEmbeddings;
        var (status, body, _) = await Post(server.OpenUrl, Json(
            $$"""{"model": "memorized", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": {{context}}}"""));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = Error(body);
        Assert.Equal("max_tokens", error.GetProperty("param").GetString());
        string message = error.GetProperty("message").GetString()!;
        Assert.Contains($"holds {context}", message, StringComparison.Ordinal);
        Assert.Contains("lower max_tokens", message, StringComparison.Ordinal);

        // A request within the context still works.
        var (ok, _, _) = await Post(server.OpenUrl, Json("""{"model": "memorized", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4}"""));
        Assert.Equal(HttpStatusCode.OK, ok);
    }

    [Fact]
    public async Task Bodies_over_the_limit_not_utf8_or_with_repeated_keys_are_refused()
    {
        var (status, _, _) = await Post(server.OpenUrl, new ByteArrayContent(new byte[RequestLimits.ApiBodyBytes + 1]));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);

        byte[] notUtf8 = [.. Encoding.UTF8.GetBytes("""{"model": "memorized", "messages": [{"role": "user", "content": "Hi"""), 0xFF,
                          .. Encoding.UTF8.GetBytes("\"}]}")];
        (status, var body, _) = await Post(server.OpenUrl, new ByteArrayContent(notUtf8));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("UTF-8", Error(body).GetProperty("message").GetString(), StringComparison.Ordinal);

        (status, body, _) = await Post(server.OpenUrl, Json("""{"model": "memorized", "model": "x", "messages": [{"role": "user", "content": "Hi"}]}"""));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("model", Error(body).GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Repeated_wrong_keys_are_rate_limited_and_then_even_the_right_key_waits()
    {
        string request = """{"model": "memorized", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}""";
        var (status, _, _) = await Post(server.LockedUrl, Json(request), ApiTestServer.Key);
        Assert.Equal(HttpStatusCode.OK, status);
        for (int i = 0; i < FailedAttempts.Limit; i++)
            Assert.Equal(HttpStatusCode.Unauthorized, (await Post(server.LockedUrl, Json(request), $"sk-wrong-{i}")).Status);
        var (locked, body, response) = await Post(server.LockedUrl, Json(request), ApiTestServer.Key);
        Assert.Equal(HttpStatusCode.TooManyRequests, locked);
        Assert.Equal("rate_limit_exceeded", Error(body).GetProperty("code").GetString());
        Assert.True(response.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        response.Dispose();
    }
}
