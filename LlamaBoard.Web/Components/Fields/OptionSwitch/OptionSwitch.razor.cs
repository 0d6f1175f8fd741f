namespace LlamaBoard.Web.Components.Fields;

/// <summary>A switch for a boolean key, with the key's messages under it.</summary>
public partial class OptionSwitch : OptionFieldBase<bool>;
