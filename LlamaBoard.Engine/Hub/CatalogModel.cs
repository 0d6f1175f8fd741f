namespace LlamaBoard.Engine.Hub;

/// <summary>
/// One model of the catalogue the board's model dropdown offers: where to download it and how to chat with it.
/// </summary>
/// <param name="Name">The display name, as LLaMA-Factory's model list spells it (e.g. "Qwen2.5-0.5B-Instruct").</param>
/// <param name="Family">The family the dropdown groups by (e.g. "Qwen2.5").</param>
/// <param name="HubId">The Hugging Face hub id, the value for <c>model_name_or_path</c>.</param>
/// <param name="ModelScopeId">The ModelScope id when the model is mirrored there (used with <c>USE_MODELSCOPE_HUB=1</c>).</param>
/// <param name="Template">The chat template name (LLaMA-Factory's <c>template</c> key); "default" for base models.</param>
/// <param name="ModelType">config.json's <c>model_type</c>, which the engine's model loader dispatches on.</param>
/// <param name="Architecture">config.json's <c>architectures[0]</c>.</param>
/// <param name="ParametersBillions">Parameter count in billions, as the model card states it.</param>
/// <param name="Chat">True for chat/instruct-tuned models, false for base (pre-trained) models.</param>
/// <param name="Gated">True when the hub requires accepting a licence (and a token) before download.</param>
public sealed record CatalogModel(
    string Name,
    string Family,
    string HubId,
    string? ModelScopeId,
    string Template,
    string ModelType,
    string Architecture,
    double ParametersBillions,
    bool Chat,
    bool Gated)
{
    /// <summary>The id to download from <paramref name="source"/>: the ModelScope id there when known, else the hub id.</summary>
    public string IdFor(HubSource source) => source == HubSource.ModelScope ? ModelScopeId ?? HubId : HubId;

    /// <summary>The size people call the model by ("135M", "0.5B", "7B"): the one in its name, else from the parameter count.</summary>
    public string SizeLabel => System.Text.RegularExpressions.Regex.Match(Name, @"(?<![\d.])\d+(\.\d+)?[MB](?![A-Za-z])") is { Success: true } m ? m.Value
        : ParametersBillions < 1 ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{ParametersBillions * 1000:0}M")
        : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{ParametersBillions:0.#}B");

    /// <summary>Bytes of the weights in bf16 (two per parameter): what a download costs, roughly.</summary>
    public long ApproximateDownloadBytes => (long)(ParametersBillions * 2e9);
}
