"""Shared test infrastructure: Docker access, stand-in image names, throwaway services."""
