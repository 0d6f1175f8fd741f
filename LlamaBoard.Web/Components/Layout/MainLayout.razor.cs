using System.Globalization;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.Localization;

namespace LlamaBoard.Web.Components.Layout;

/// <summary>The frame of every page: app bar (title, Board and Runs, language switch), the page, the footer.</summary>
public partial class MainLayout
{
    [Inject] NavigationManager Navigation { get; set; } = default!;
    [Inject] IStringLocalizer<BoardText> L { get; set; } = default!;

    static string CurrentLanguage => CultureInfo.CurrentUICulture.Name.StartsWith("zh", StringComparison.OrdinalIgnoreCase) ? "中文" : "English";

    /// <summary>Sets the culture cookie through <c>/culture/{name}</c> and reloads the current page in that language.</summary>
    void SwitchTo(string culture)
    {
        string here = "/" + Navigation.ToBaseRelativePath(Navigation.Uri);
        Navigation.NavigateTo($"culture/{culture}?redirect={Uri.EscapeDataString(here)}", forceLoad: true);
    }
}
