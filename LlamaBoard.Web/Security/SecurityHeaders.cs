namespace LlamaBoard.Web.Security;

/// <summary>
/// Response headers that ASP.NET Core's guidance for Blazor Server recommends: no MIME sniffing, no framing by other
/// sites (clickjacking), no referrer leaking run names or tokens, and a content security policy. The policy keeps
/// what a Blazor Server app with MudBlazor and Plotly needs (its own scripts, inline styles, the circuit's
/// WebSocket to the same origin) and forbids plugins, foreign frames and a changed base URL.
/// </summary>
public sealed class SecurityHeaders(RequestDelegate next)
{
    /// <summary>The Content-Security-Policy sent with every response.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; " +
        "font-src 'self' data:; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'";

    /// <summary>Adds the headers when the response starts (so they also reach error pages and static files).</summary>
    public Task InvokeAsync(HttpContext context)
    {
        context.Response.OnStarting(() =>
        {
            var headers = context.Response.Headers;
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "no-referrer";
            headers["Cross-Origin-Opener-Policy"] = "same-origin";
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
            return Task.CompletedTask;
        });
        return next(context);
    }
}
