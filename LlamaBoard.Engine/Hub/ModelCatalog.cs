namespace LlamaBoard.Engine.Hub;

/// <summary>
/// The models LlamaBoard offers by name, limited to the architectures its engine runs (<see cref="SupportedModelTypes"/>).
/// Hub ids, ModelScope ids and template names follow LLaMA-Factory's model list
/// (<c>extras/constants.py</c>, <c>register_model_group</c>); parameter counts are the model cards'.
/// The table itself is <see cref="ModelCatalogEntries"/>.
/// </summary>
public static class ModelCatalog
{
    /// <summary>config.json <c>model_type</c> values the engine's model loader supports.</summary>
    public static IReadOnlySet<string> SupportedModelTypes { get; } =
        new HashSet<string>(["llama", "qwen2", "qwen3", "mistral", "gemma", "gemma2", "gemma3_text", "gemma3", "phi3"], StringComparer.Ordinal);

    /// <summary>Every catalogue entry, grouped by family in display order, base before chat models, small before large.</summary>
    public static IReadOnlyList<CatalogModel> All { get; } = ModelCatalogEntries.Build();

    /// <summary>Family names in display order.</summary>
    public static IReadOnlyList<string> Families { get; } = All.Select(m => m.Family).Distinct().ToList();

    /// <summary>
    /// The entry whose display name, Hugging Face id or ModelScope id equals <paramref name="nameOrId"/>
    /// (ignoring case), or null.
    /// </summary>
    public static CatalogModel? Find(string nameOrId) =>
        All.FirstOrDefault(m => string.Equals(m.Name, nameOrId, StringComparison.OrdinalIgnoreCase)) ??
        All.FirstOrDefault(m => string.Equals(m.HubId, nameOrId, StringComparison.OrdinalIgnoreCase) ||
                                string.Equals(m.ModelScopeId, nameOrId, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// The entries matching all given criteria: <paramref name="text"/> (in the name, family or ids, ignoring case),
    /// <paramref name="family"/>, <paramref name="chat"/> (chat or base models), and at most
    /// <paramref name="maxBillions"/> parameters (to fit the memory at hand).
    /// </summary>
    public static IReadOnlyList<CatalogModel> Search(string? text = null, string? family = null, bool? chat = null, double? maxBillions = null) =>
        All.Where(m =>
                (string.IsNullOrWhiteSpace(text) || new[] { m.Name, m.Family, m.HubId, m.ModelScopeId ?? "" }
                    .Any(s => s.Contains(text.Trim(), StringComparison.OrdinalIgnoreCase))) &&
                (family is null || string.Equals(m.Family, family, StringComparison.OrdinalIgnoreCase)) &&
                (chat is null || m.Chat == chat) &&
                (maxBillions is null || m.ParametersBillions <= maxBillions))
            .ToList();

    /// <summary>The chat template for a <c>model_name_or_path</c> found in the catalogue (by id or name), else null.</summary>
    public static string? TemplateFor(string modelNameOrPath) => Find(modelNameOrPath)?.Template;
}
