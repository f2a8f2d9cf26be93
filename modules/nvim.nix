# Neovim as the editor, system-wide.
{ ... }:
{
  programs.neovim = { enable = true; defaultEditor = true; vimAlias = true; };
}
