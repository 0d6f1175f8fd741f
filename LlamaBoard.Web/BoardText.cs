namespace LlamaBoard.Web;

/// <summary>
/// The marker type of the board's texts: <c>IStringLocalizer&lt;BoardText&gt;</c> reads Resources/BoardText.resx
/// (English) and Resources/BoardText.zh-Hans.resx (Simplified Chinese).
/// </summary>
public sealed class BoardText;
