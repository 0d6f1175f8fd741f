using LlamaBoard.Engine.Data.Templates;

namespace LlamaBoard.Web.Services;

/// <summary>The chat template names the board offers.</summary>
public static class ChatTemplateNames
{
    /// <summary>The names of the data pipeline's template registry, in registration order.</summary>
    public static IReadOnlyList<string> All => ChatTemplates.Names;
}
