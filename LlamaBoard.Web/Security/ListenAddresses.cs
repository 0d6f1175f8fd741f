using System.Net;

namespace LlamaBoard.Web.Security;

/// <summary>Thrown when the board's settings would make it unsafe or impossible to start; the message says what to change.</summary>
public sealed class BoardStartupException(string message) : InvalidOperationException(message);

/// <summary>
/// Decides whether the board's listening addresses stay on this machine. The board runs training jobs and reads
/// local folders: anything beyond loopback (<c>--urls http://0.0.0.0:7860</c>, <c>*</c>, a LAN address) needs an
/// access token.
/// </summary>
public static class ListenAddresses
{
    /// <summary>Every address the configuration asks Kestrel to listen on: <c>urls</c> (<c>--urls</c>, ASPNETCORE_URLS, appsettings) and Kestrel endpoints.</summary>
    public static IReadOnlyList<string> FromConfiguration(IConfiguration configuration)
    {
        var urls = new List<string>();
        if (configuration["urls"] is { Length: > 0 } list)
            urls.AddRange(list.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        else
        {
            // ASPNETCORE_HTTP_PORTS / HTTPS_PORTS (set in Microsoft's container images) listen on every interface,
            // but only when no urls are given.
            foreach (var (key, scheme) in new[] { ("http_ports", "http"), ("https_ports", "https") })
                if (configuration[key] is { Length: > 0 } ports)
                    urls.AddRange(ports.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(p => $"{scheme}://*:{p}"));
        }
        foreach (var endpoint in configuration.GetSection("Kestrel:Endpoints").GetChildren())
            if (endpoint["Url"] is { Length: > 0 } url)
                urls.Add(url);
        return urls;
    }

    /// <summary>True when <paramref name="url"/>'s host is loopback: localhost, 127.0.0.0/8 or ::1.</summary>
    public static bool IsLoopback(string url)
    {
        int scheme = url.IndexOf("://", StringComparison.Ordinal);
        string rest = scheme < 0 ? url : url[(scheme + 3)..];
        string host;
        if (rest.StartsWith('['))
        {
            int close = rest.IndexOf(']', StringComparison.Ordinal);
            host = close < 0 ? rest : rest[1..close];
        }
        else
        {
            int end = rest.IndexOfAny([':', '/']);
            host = end < 0 ? rest : rest[..end];
        }
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase)) return true;
        return IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address);
    }

    /// <summary>
    /// Refuses to start when an address goes beyond loopback and no token is set, naming the address and the two ways
    /// out (set a token, or listen on 127.0.0.1).
    /// </summary>
    public static void EnsureSafe(IReadOnlyList<string> urls, string? token)
    {
        var exposed = urls.Where(u => !IsLoopback(u)).ToList();
        if (exposed.Count == 0 || !string.IsNullOrEmpty(token)) return;
        throw new BoardStartupException(
            $"The board would listen on {string.Join(", ", exposed)}, which other machines can reach, without an access token. " +
            $"Set the environment variable {Settings.BoardSettings.TokenVariable} (or {Settings.BoardSettings.Section}:AccessToken) to a secret, " +
            "or listen on http://127.0.0.1:7860 only.");
    }
}
