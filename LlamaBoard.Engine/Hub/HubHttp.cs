using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;

namespace LlamaBoard.Engine.Hub;

/// <summary>Which redirects <see cref="HubHttp.SendAsync"/> follows itself.</summary>
internal enum RedirectPolicy
{
    /// <summary>Return every redirect to the caller.</summary>
    None,
    /// <summary>Follow redirects that stay on the same scheme, host and port (a renamed repository); return the others
    /// (a file's CDN location) so the caller can read the hub's <c>X-Linked-*</c> headers, as huggingface_hub does.</summary>
    SameHost,
    /// <summary>Follow all; the token is dropped as soon as the request leaves the hub's host (CDN URLs are signed).</summary>
    Any,
}

/// <summary>
/// The HTTP side shared by the Hugging Face and ModelScope clients: one connection pool, the token header, redirects
/// followed by hand (so the token never reaches a CDN), and network failures turned into <see cref="HubException"/>s
/// that say what to do.
/// </summary>
internal sealed class HubHttp : IDisposable
{
    const int MaxRedirects = 10;

    readonly HttpClient client;

    public HubHttp(HubSite site, HttpMessageHandler? handler = null)
    {
        Site = site;
        handler ??= new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = TimeSpan.FromSeconds(10),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            UseCookies = false,
        };
        // Timeouts are set per request (metadata) and per read (downloads); the client-wide one would cut long files.
        client = new HttpClient(handler, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
    }

    public HubSite Site { get; }

    /// <summary>
    /// Sends a request and returns the response once its headers are in (the body is streamed by the caller).
    /// Network failures become <see cref="HubErrorKind.NoNetwork"/>; HTTP error statuses are returned as they are.
    /// </summary>
    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, Uri url, RedirectPolicy redirects,
        TimeSpan? timeout, Action<HttpRequestMessage>? configure, CancellationToken ct)
    {
        var uri = url;
        // The token goes only to the hub's own host: a CDN URL is signed, and a redirect elsewhere must not leak it.
        var hubHost = new Uri(Site.Endpoint);
        bool sendToken = SameHost(uri, hubHost);
        for (int hop = 0; ; hop++)
        {
            using var request = new HttpRequestMessage(method, uri);
            request.Headers.UserAgent.Add(new ProductInfoHeaderValue("llamaboard", "0.1"));
            if (sendToken && Site.Token is { } token)
            {
                // Hugging Face takes a bearer token; ModelScope takes its SDK token as the session cookie.
                if (Site.Source == HubSource.ModelScope) request.Headers.Add("Cookie", $"m_session_id={token}");
                else request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }
            configure?.Invoke(request);

            HttpResponseMessage response;
            using (var limit = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                if (timeout is { } t) limit.CancelAfter(t);
                try
                {
                    response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, limit.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
                {
                    throw NoNetwork(uri, $"no answer within {timeout?.TotalSeconds:0} s", e);
                }
                catch (HttpRequestException e)
                {
                    throw NoNetwork(uri, Describe(e), e);
                }
            }

            if (!IsRedirect(response.StatusCode) || response.Headers.Location is not { } location || redirects == RedirectPolicy.None)
                return response;
            var next = location.IsAbsoluteUri ? location : new Uri(uri, location);
            bool sameHost = SameHost(next, uri);
            if (redirects == RedirectPolicy.SameHost && !sameHost) return response;
            response.Dispose();
            if (hop >= MaxRedirects)
                throw new HubException(HubErrorKind.ServerError, $"{Site.Name} redirected {url} more than {MaxRedirects} times; check {Site.EndpointVariable}.");
            sendToken &= sameHost && SameHost(next, hubHost);
            uri = next;
        }
    }

    /// <summary>GETs a JSON document; an error status is turned into an exception by <paramref name="onError"/>.</summary>
    public async Task<(JsonDocument Json, HttpResponseHeaders Headers)> GetJsonAsync(Uri url, TimeSpan timeout,
        Func<HttpResponseMessage, Task<HubException>> onError, CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Get, url, RedirectPolicy.Any, timeout, null, ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode) throw await onError(response).ConfigureAwait(false);
        try
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
            limit.CancelAfter(timeout);
            var stream = await response.Content.ReadAsStreamAsync(limit.Token).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
                return (await JsonDocument.ParseAsync(stream, default, limit.Token).ConfigureAwait(false), response.Headers);
        }
        catch (JsonException e)
        {
            throw new HubException(HubErrorKind.ServerError,
                $"{url} did not answer with JSON ({e.Message}); is {Site.EndpointVariable}={Site.Endpoint} really {Site.Name} or a mirror of it?", e);
        }
        catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw NoNetwork(url, $"the answer did not arrive within {timeout.TotalSeconds:0} s", e);
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            throw NoNetwork(url, e.Message, e);
        }
    }

    /// <summary>The error for an unreachable hub, with the ways out (mirror, offline mode).</summary>
    public HubException NoNetwork(Uri url, string detail, Exception? inner) =>
        new(HubErrorKind.NoNetwork,
            $"Cannot reach {Site.Name} at {url.GetLeftPart(UriPartial.Authority)}: {detail}. Check the network or proxy, " +
            $"{Site.MirrorHint}, or work offline (HF_HUB_OFFLINE=1 or --offline) with files already in the cache.", inner);

    /// <summary>Plain words for a failed connection.</summary>
    internal static string Describe(HttpRequestException e)
    {
        string inner = e.InnerException is SocketException s ? $"{s.SocketErrorCode}: {s.Message}" : e.InnerException?.Message ?? e.Message;
        return e.HttpRequestError switch
        {
            HttpRequestError.NameResolutionError => $"the host name could not be resolved ({inner})",
            HttpRequestError.ConnectionError => $"the connection failed ({inner})",
            HttpRequestError.SecureConnectionError => $"the TLS handshake failed, a proxy or missing CA certificates? ({inner})",
            HttpRequestError.ProxyTunnelError => $"the proxy refused the connection ({inner})",
            _ => inner,
        };
    }

    static bool SameHost(Uri a, Uri b) => Uri.Compare(a, b, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0;

    public static bool IsRedirect(HttpStatusCode status) => (int)status is 301 or 302 or 303 or 307 or 308;

    /// <summary>A response header's first value, or null.</summary>
    public static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault()
        : response.Content.Headers.TryGetValues(name, out var content) ? content.FirstOrDefault() : null;

    public void Dispose() => client.Dispose();
}
