namespace LlamaBoard.Web.Services;

/// <summary>The chat template names the board offers.</summary>
public static class ChatTemplateNames
{
    /// <summary>
    /// The names, in the data worker's registration order.
    /// Replace with <c>ChatTemplates.Names</c> when the template registry is merged.
    /// </summary>
    public static IReadOnlyList<string> All { get; } =
    [
        "default", "empty", "alpaca", "vicuna", "chatml", "qwen", "qwen3", "qwen3_nothink", "yi", "smollm2", "llama2", "llama3",
        "mistral", "gemma", "gemma3", "phi", "phi4", "deepseek", "deepseek3", "zephyr", "granite3",
    ];
}
