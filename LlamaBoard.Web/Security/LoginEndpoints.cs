using System.Net;
using LlamaBoard.Web.Settings;
using Microsoft.Extensions.Options;

namespace LlamaBoard.Web.Security;

/// <summary>
/// The login page (<c>GET /login</c>) and its form post. The page is plain HTML without scripts or external files,
/// because nothing else is served before the token is known.
/// </summary>
public static class LoginEndpoints
{
    /// <summary>Maps GET and POST <c>/login</c>.</summary>
    public static void MapLogin(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(AccessTokenGate.LoginPath, (string? returnUrl) => Page(returnUrl, failed: false));
        endpoints.MapPost(AccessTokenGate.LoginPath, async (HttpContext context, IOptions<BoardSettings> settings, FailedAttempts failures) =>
        {
            var client = FailedAttempts.AddressOf(context);
            if (failures.IsLocked(client, out var retryAfter))
            {
                context.Response.Headers.RetryAfter = ((int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                return Results.Text("Too many wrong access tokens from this address; try again later.", statusCode: StatusCodes.Status429TooManyRequests);
            }
            var form = await context.Request.ReadFormAsync();
            string? token = settings.Value.AccessToken;
            string returnUrl = form["returnUrl"].ToString();
            var gate = new AccessTokenGate(_ => Task.CompletedTask, token ?? "", failures);
            if (string.IsNullOrEmpty(token) || !gate.Matches(form["token"].ToString()))
            {
                failures.Fail(client);
                return Page(returnUrl, failed: true);
            }
            failures.Succeed(client);
            AccessTokenGate.SetCookie(context, token);
            return Results.LocalRedirect(IsLocal(returnUrl) ? returnUrl : "/");
        }).DisableAntiforgery();
    }

    static bool IsLocal(string url) => url.StartsWith('/') && !url.StartsWith("//", StringComparison.Ordinal) && !url.StartsWith("/\\", StringComparison.Ordinal);

    static IResult Page(string? returnUrl, bool failed)
    {
        string message = failed ? "<p class=\"error\">That is not the board's access token.</p>" : "";
        string html = $$"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>LlamaBoard - sign in</title>
            <style>body{font-family:Roboto,Arial,sans-serif;display:flex;justify-content:center;margin-top:10vh}
            form{display:flex;flex-direction:column;gap:12px;width:320px}.error{color:#b00020}</style></head>
            <body><form method="post" action="/login">
            <h2>LlamaBoard</h2><p>This board is protected by an access token.</p>{{message}}
            <input type="password" name="token" placeholder="Access token" autofocus required>
            <input type="hidden" name="returnUrl" value="{{WebUtility.HtmlEncode(returnUrl ?? "/")}}">
            <button type="submit">Sign in</button></form></body></html>
            """;
        return Results.Content(html, "text/html", statusCode: failed ? StatusCodes.Status401Unauthorized : StatusCodes.Status200OK);
    }
}
