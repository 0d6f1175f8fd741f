namespace LlamaBoard.Engine.Hub;

/// <summary>
/// The names a message needs to give useful advice for one hub: where it is, which variable holds its token and
/// which one moves its address.
/// </summary>
internal sealed record HubSite(HubSource Source, string Endpoint, string? Token)
{
    public string Name => Source == HubSource.ModelScope ? "ModelScope" : "the Hugging Face hub";
    public string TokenVariable => Source == HubSource.ModelScope ? "MODELSCOPE_API_TOKEN" : "HF_TOKEN";
    public string EndpointVariable => Source == HubSource.ModelScope ? "MODELSCOPE_DOMAIN" : "HF_ENDPOINT";
    public string MirrorHint => Source == HubSource.ModelScope
        ? "set MODELSCOPE_DOMAIN to a reachable ModelScope site"
        : "set HF_ENDPOINT to a reachable mirror (e.g. https://hf-mirror.com), or USE_MODELSCOPE_HUB=1 to use ModelScope";

    /// <summary>The repository's web page, where a gated model's licence is accepted.</summary>
    public string PageUrl(HubRepoId repo) => Source == HubSource.ModelScope
        ? $"{Endpoint}/{(repo.Type == HubRepoType.Dataset ? "datasets" : "models")}/{repo.Id}"
        : $"{Endpoint}/{(repo.Type == HubRepoType.Dataset ? "datasets/" : "")}{repo.Id}";

    public static HubSite For(HubSource source, HubOptions options) => source == HubSource.ModelScope
        ? new HubSite(source, options.ModelScopeEndpoint, options.ModelScopeToken)
        : new HubSite(source, options.Endpoint, options.Token);
}
