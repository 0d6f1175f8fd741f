using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.WebUtilities;

namespace LlamaBoard.Web.Security;

/// <summary>
/// When an access token is set, every request (pages, static files, the Blazor circuit and the SignalR hub) must
/// carry it: as the board's cookie (set by the login page or by <c>?token=</c> once), or as
/// <c>Authorization: Bearer</c> / <c>access_token</c> for hub clients. Pages redirect to the login page; everything
/// else gets 401. Wrong tokens are counted per client address (<see cref="FailedAttempts"/>): too many, and the
/// address gets 429 for a while.
/// </summary>
public sealed class AccessTokenGate(RequestDelegate next, string token, FailedAttempts failures)
{
    /// <summary>The cookie that remembers a successful login (a hash of the token, never the token itself).</summary>
    public const string CookieName = "llamaboard_access";

    /// <summary>The login page's path.</summary>
    public const string LoginPath = "/login";

    readonly byte[] expectedCookie = Encoding.ASCII.GetBytes(CookieValue(token));
    // Compared as SHA-256 digests: equal lengths, so the comparison's time says nothing about the token's length.
    readonly byte[] expectedToken = SHA256.HashData(Encoding.UTF8.GetBytes(token));

    /// <summary>The cookie value that proves knowledge of <paramref name="token"/>.</summary>
    public static string CookieValue(string token) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes("llamaboard:" + token)));

    /// <summary>Lets the request through, redirects it to the login page, or answers 401.</summary>
    public async Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        if (request.Path.StartsWithSegments(LoginPath, StringComparison.OrdinalIgnoreCase))
        {
            await next(context);
            return;
        }
        var client = FailedAttempts.AddressOf(context);
        string? presented = request.Query.TryGetValue("token", out var given) ? given.ToString()
                          : BearerToken(request) ?? (request.Query.TryGetValue("access_token", out var hub) ? hub.ToString() : null);
        // Only presented tokens count: the cookie is a SHA-256 digest, not worth guessing, and a stale one must not
        // lock its owner out.
        if (presented is not null && failures.IsLocked(client, out var retryAfter))
        {
            context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
            context.Response.Headers.RetryAfter = ((int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            await context.Response.WriteAsync("Too many wrong access tokens from this address; try again later.");
            return;
        }
        if (request.Query.ContainsKey("token") && Matches(given.ToString()))
        {
            failures.Succeed(client);
            // A token in the address works once: it becomes the cookie and leaves the address (and the browser history).
            SetCookie(context, token);
            var query = QueryHelpers.ParseQuery(request.QueryString.Value).Where(p => p.Key != "token")
                .SelectMany(p => p.Value.Select(v => new KeyValuePair<string, string?>(p.Key, v)));
            context.Response.Redirect(QueryHelpers.AddQueryString(request.PathBase + request.Path, query));
            return;
        }
        if (HasCookie(request) || Matches(BearerToken(request)) || Matches(request.Query["access_token"].ToString()))
        {
            await next(context);
            return;
        }
        if (presented is not null) failures.Fail(client);
        if (HttpMethods.IsGet(request.Method) && AcceptsHtml(request))
        {
            string returnUrl = request.PathBase + request.Path + request.QueryString;
            context.Response.Redirect($"{LoginPath}?returnUrl={WebUtility.UrlEncode(returnUrl)}");
            return;
        }
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        await context.Response.WriteAsync("LlamaBoard needs its access token: sign in at /login, or send Authorization: Bearer <token>.");
    }

    /// <summary>True when <paramref name="candidate"/> is the token (compared in constant time).</summary>
    public bool Matches(string? candidate) =>
        !string.IsNullOrEmpty(candidate)
        && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(candidate)), expectedToken);

    /// <summary>Remembers the login in an HTTP-only, same-site cookie.</summary>
    public static void SetCookie(HttpContext context, string token) =>
        context.Response.Cookies.Append(CookieName, CookieValue(token), new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            Secure = context.Request.IsHttps,
            IsEssential = true,
        });

    bool HasCookie(HttpRequest request) =>
        request.Cookies.TryGetValue(CookieName, out string? value) && value is not null
        && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(value), expectedCookie);

    static string? BearerToken(HttpRequest request)
    {
        string header = request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header[7..].Trim() : null;
    }

    static bool AcceptsHtml(HttpRequest request) =>
        request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase);
}
