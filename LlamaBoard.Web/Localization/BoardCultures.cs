using Microsoft.AspNetCore.Localization;

namespace LlamaBoard.Web.Localization;

/// <summary>The board's languages and the endpoint that switches between them.</summary>
public static class BoardCultures
{
    /// <summary>English, the default.</summary>
    public const string Default = "en";

    /// <summary>The cultures the board has resources for.</summary>
    public static readonly string[] Supported = ["en", "zh-Hans"];

    /// <summary>Maps <c>/culture/{name}?redirect=/path</c>: remembers the choice in the culture cookie and goes back.</summary>
    public static void MapCultureSwitch(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapGet("/culture/{name}", (string name, string? redirect, HttpContext context) =>
        {
            string culture = Supported.FirstOrDefault(c => c.Equals(name, StringComparison.OrdinalIgnoreCase)) ?? Default;
            context.Response.Cookies.Append(CookieRequestCultureProvider.DefaultCookieName,
                CookieRequestCultureProvider.MakeCookieValue(new RequestCulture(culture)),
                new CookieOptions { IsEssential = true, SameSite = SameSiteMode.Lax, Expires = DateTimeOffset.UtcNow.AddYears(1) });
            bool local = redirect is { Length: > 0 } && redirect.StartsWith('/') && !redirect.StartsWith("//", StringComparison.Ordinal);
            return Results.LocalRedirect(local ? redirect! : "/");
        });
}
